#include "config/reload_plan.h"

#include <fmt/format.h>

#include "config/settings.h"

namespace vigil {

ReloadPlan PlanReload(const Config& running, Config next) {
  ReloadPlan plan;
  for (const Setting& s : Settings()) {
    if (s.on_reload == OnReload::kApply || s.same(running, next)) continue;
    if (s.on_reload == OnReload::kRefuse) {
      plan.refusal =
          ConfigError{next.source, 0, 0, std::string(s.key),
                      fmt::format("cannot change from '{}' to '{}' on reload; restart vigild",
                                  s.write(running, s).Scalar(), s.write(next, s).Scalar())};
      return plan;
    }
    plan.at_restart.push_back(s.key);
    s.copy(running, next);
  }
  plan.interval_changed = next.heartbeat.interval != running.heartbeat.interval;
  plan.log_level_changed = next.log.level != running.log.level;
  plan.config = std::move(next);
  return plan;
}

}  // namespace vigil
