#include "ctl/progress.h"

#include <ostream>

#include <fmt/format.h>

namespace vigil {

namespace {
constexpr std::chrono::seconds kEvery{1};
}  // namespace

ProgressMeter::ProgressMeter(std::ostream* out, std::size_t total, std::string command, Now now)
    : out_(out), total_(total), command_(std::move(command)), now_(std::move(now)) {
  next_ = now_() + kEvery;
}

void ProgressMeter::Update(std::size_t done) {
  if (out_ == nullptr || total_ == 0 || done >= total_) return;
  const auto t = now_();
  if (t < next_) return;
  next_ = t + kEvery;
  *out_ << fmt::format("{}: {} % (swept {} of {} settings)", command_, done * 100 / total_, done,
                       total_)
        << std::endl;
}

}  // namespace vigil
