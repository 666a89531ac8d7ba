// Writes the state file on a thread of its own, so that serializing and fsyncing a large
// peer table never blocks the event loop (which would trip the local-health guard and hold
// every conviction). The event loop only takes the snapshot; the newest snapshot wins.
#pragma once

#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/status.h"
#include "daemon/state_file.h"

namespace vigil {

class StateWriter {
 public:
  // Called on `io`'s thread after each write, with its outcome and the buffer it wrote
  // (to build the next file in: its capacity is kept, so no fresh memory is touched).
  using DoneFn = std::function<void(const Status& written, std::string spent)>;

  // Starts the writer thread for state files in `dir`. `io` must outlive this object.
  StateWriter(boost::asio::io_context& io, std::string dir, DoneFn done);
  ~StateWriter();  // Stop()

  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  // Queues a state file for writing: StateFileBuilder::Finish's bytes, which the writer
  // seals (SealState) and writes (WriteStateBytes). A file still waiting is replaced: only
  // the newest matters. Ignored after Stop(). Call from io's thread only.
  void Submit(std::string unsealed);

  // Lets a write in progress finish, drops one still waiting, and ends the thread; after
  // it the caller may write the file itself (the final write of a stop). Idempotent.
  void Stop();

 private:
  void Run();

  boost::asio::io_context& io_;
  std::string dir_;
  DoneFn done_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::optional<std::string> pending_;  // guarded by mu_
  bool stopping_ = false;                  // guarded by mu_
  std::thread thread_;
};

}  // namespace vigil
