#include "membership/replay_guard.h"

#include <algorithm>
#include <cassert>

namespace vigil::membership {

ReplayGuard::Member& ReplayGuard::Entry(const std::string& id) {
  // Numbers given to it before it was forgotten (if it was) are all at most numbered_.
  const auto [it, made] = members_.try_emplace(id);
  if (made) it->second.sent = numbered_;
  return it->second;
}

Freshness ReplayGuard::Check(Stream stream, const std::string& sender, const Stamp& stamp,
                             std::uint64_t current, MonoTime now) {
  assert(stamp.incarnation > 0);
  Member& m = Entry(sender);
  m.last = now;
  const std::uint64_t newest = std::max(m.heard, stamp.incarnation);
  m.heard = newest;
  // An echo below `first` was meant for an earlier run of this node (or for no run: 0);
  // one above `current` for an incarnation this node has not had.
  if (stamp.echo < first_ || stamp.echo > current) return Freshness::kUnconfirmed;
  // Its sender has stamped a newer incarnation: this one is stale, whatever its number.
  if (stamp.incarnation < newest) return Freshness::kOldSequence;
  Window& w = m.windows[static_cast<std::size_t>(stream)];
  if (stamp.incarnation > w.incarnation) {
    w.incarnation = stamp.incarnation;
    w.seen.Reset();
  }
  return w.seen.Observe(stamp.sequence) == SequenceTracker::Result::kOld
             ? Freshness::kOldSequence
             : Freshness::kFresh;
}

std::uint64_t ReplayGuard::Heard(std::string_view sender) const {
  const auto it = members_.find(sender);
  return it == members_.end() ? 0 : it->second.heard;
}

bool ReplayGuard::MayAnswer(const std::string& sender, MonoTime now, Duration every) {
  Member& m = Entry(sender);
  if (m.answered != MonoTime::min() && now < AddSaturated(m.answered, every)) return false;
  m.answered = now;
  return true;
}

std::uint64_t ReplayGuard::NextNumber(std::string_view to) const {
  const auto it = members_.find(to);
  return (it == members_.end() ? numbered_ : it->second.sent) + 1;
}

void ReplayGuard::Numbered(const std::string& to, std::uint64_t count, MonoTime now) {
  if (count == 0) return;
  Member& m = Entry(to);
  m.sent += count;
  m.last = now;
  numbered_ += count;  // each number to one receiver is at most the numbers given in all
}

void ReplayGuard::Prune(const std::function<bool(const std::string&)>& keep, MonoTime now,
                        Duration idle) {
  std::erase_if(members_, [&](const auto& entry) {
    return !keep(entry.first) && AddSaturated(entry.second.last, idle) <= now;
  });
}

}  // namespace vigil::membership
