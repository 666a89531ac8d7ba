// What a reload (SIGHUP) does with a newly loaded configuration, decided from the running
// configuration and the new one alone: no files, sockets or clocks. The daemon carries the
// plan out (daemon/daemon.cc, Daemon::Reload).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace vigil {

struct ReloadPlan {
  // Set when the reload must be refused (a setting marked OnReload::kRefuse changed); then
  // nothing else of the plan applies.
  std::optional<ConfigError> refusal;
  // The configuration to run: the new one, with every setting marked OnReload::kRestart
  // kept at its running value.
  Config config;
  // The keys of those settings whose value in the file changed: logged as waiting for a
  // restart.
  std::vector<std::string_view> at_restart;
  bool interval_changed = false;   // the send schedule starts over
  bool log_level_changed = false;  // the logger's level is set again
};

// Decides the reload from `running` to `next` (both valid). Uses the settings table
// (config/settings.h) for what each setting does on reload. Never fails.
ReloadPlan PlanReload(const Config& running, Config next);

}  // namespace vigil
