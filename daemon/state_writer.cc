#include "daemon/state_writer.h"

#include <boost/asio/post.hpp>

#include "daemon/state_codec.h"

namespace vigil {

StateWriter::StateWriter(boost::asio::io_context& io, std::string dir, DoneFn done)
    : io_(io), dir_(std::move(dir)), done_(std::move(done)), thread_([this] { Run(); }) {}

StateWriter::~StateWriter() { Stop(); }

void StateWriter::Submit(std::string unsealed) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    pending_ = std::move(unsealed);
  }
  wake_.notify_one();
}

void StateWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    pending_.reset();
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void StateWriter::Run() {
  for (;;) {
    std::string bytes;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || pending_.has_value(); });
      if (stopping_) return;
      bytes = std::move(*pending_);
      pending_.reset();
    }
    SealState(bytes);
    Status written = WriteStateBytes(dir_, bytes);
    // The result is handled on the event loop's thread, like everything else.
    boost::asio::post(io_, [this, written = std::move(written), bytes = std::move(bytes)]() mutable {
      done_(written, std::move(bytes));
    });
  }
}

}  // namespace vigil
