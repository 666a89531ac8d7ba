#include "daemon/event_ring.h"

#include <algorithm>

namespace vigil {

std::string_view MemberReasonName(MemberReason reason) {
  switch (reason) {
    case MemberReason::kAgreement:
      return "agreement";
    case MemberReason::kDispute:
      return "dispute";
    case MemberReason::kAdmitted:
      break;
  }
  return "admitted";
}

void EventRing::Push(EventRecord event) {
  events_.push_back(std::move(event));
  while (events_.size() > capacity_) {
    evicted_up_to_ = events_.front().id;
    events_.pop_front();
  }
}

void EventRing::set_capacity(std::size_t capacity) {
  capacity_ = capacity ? capacity : 1;
  while (events_.size() > capacity_) {
    evicted_up_to_ = events_.front().id;
    events_.pop_front();
  }
}

std::vector<EventRecord> EventRing::After(std::uint64_t last_id, bool* gap) const {
  *gap = last_id < evicted_up_to_;
  auto it = std::upper_bound(events_.begin(), events_.end(), last_id,
                             [](std::uint64_t id, const EventRecord& e) { return id < e.id; });
  return std::vector<EventRecord>(it, events_.end());
}

}  // namespace vigil
