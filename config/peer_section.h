// The `peers:` section of vigil.yaml (config_loader.cc reads the others).
#pragma once

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace vigil {

// Reads every peer of `peers` into c.peers, after node, heartbeat, detector and recording
// (their defaults apply). A peer with any problem is reported and left out.
void LoadPeersSection(YamlReader& r, const YAML::Node& peers, Config& c);

}  // namespace vigil
