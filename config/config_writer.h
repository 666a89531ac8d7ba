// Config -> vigil.yaml: the inverse of the loader, from the same declarations (the settings
// table, config/settings.h, and the detector knobs, detector/detector_knobs.h).
#pragma once

#include <string>

#include "config/config.h"

namespace vigil {

// The whole configuration as YAML with every default written out, sections in the order of
// docs/configuration.md: what `vigild --print-config` prints. Requires a Config the loader
// returned (a hand-built one may hold what no file can say: an empty node.id, a size that is
// not whole MiB); for those, loading the text gives back an equal Config (except `source`). Unset
// optional settings are left out, and so are detector knobs at a default that follows from the
// heartbeat interval; a peer lists only the detector keys where it differs from `detector:`, and
// `record` only where it differs from `recording.enabled`. Never fails.
std::string ConfigYaml(const Config& config);

}  // namespace vigil
