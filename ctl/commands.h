// vigilctl's commands. Each returns the process exit code and writes to the given streams.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>

#include "ctl/api_client.h"

namespace vigil {

struct CtlOptions {
  std::string socket;
  bool json = false;
  bool quiet = false;
};

// Exit codes, like systemctl's: 0 success / yes, 1 no / not found / timed out, 2 error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;
inline constexpr int kExitError = 2;

int CmdStatus(const CtlOptions& o, std::ostream& out, std::ostream& err);
// GET /v1/members, every page: a cluster member's view (a line about this member, then a
// table), only the members in `state` if it is not empty; exit 1 if vigild is not a
// cluster member.
int CmdMembers(const CtlOptions& o, const std::string& state, std::ostream& out,
               std::ostream& err);
int CmdGet(const CtlOptions& o, const std::string& peer, std::ostream& out, std::ostream& err);
int CmdIsUp(const CtlOptions& o, const std::string& peer, std::ostream& out, std::ostream& err);
// Waits until `peer` is in `state`, across restarts of vigild, for at most `timeout`
// (event_commands.cc). Exit 0 reached, 1 timed out, 2 error.
int CmdWait(const CtlOptions& o, const std::string& peer, const std::string& state,
            std::chrono::milliseconds timeout, std::ostream& out, std::ostream& err);
// Prints each event as it happens, from after `last_event_id` if given, reconnecting
// across restarts of vigild; gives up (exit 2) when one outage outlasts `max_outage`.
int CmdWatch(const CtlOptions& o, std::optional<std::string> last_event_id,
             std::optional<std::chrono::milliseconds> max_outage, std::ostream& out,
             std::ostream& err);
int CmdMetrics(const CtlOptions& o, std::ostream& out, std::ostream& err);
// Prints a new random key, or writes it to `file` (mode 0600, never overwriting).
int CmdKeygen(const std::string& file, std::ostream& out, std::ostream& err);
int CmdCheckConfig(const CtlOptions& o, const std::string& file, std::ostream& out,
                   std::ostream& err);

}  // namespace vigil
