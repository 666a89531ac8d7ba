// Log setup: the journal with real priorities when stderr is the journal, plain lines
// otherwise.
#pragma once

#include <string>

namespace vigil {

// Configures spdlog's default logger. Uses journald (structured, with priorities) when
// $JOURNAL_STREAM names our stderr, as systemd sets it; otherwise "time level message" on
// stderr. Returns false and leaves the level unchanged if `level` is not a level name.
bool SetUpLogging(const std::string& level);
bool SetLogLevel(const std::string& level);

}  // namespace vigil
