#include "membership/cut_detector.h"

#include <algorithm>
#include <bit>
#include <cassert>

namespace vigil::membership {

CutDetector::CutDetector(const ObserverGraph& graph, CutOptions options)
    : graph_(graph), options_(options) {
  assert(options.low >= 1 && options.low <= options.high);
  assert(options.settle >= Duration::zero() && options.max_hold > Duration::zero() &&
         options.report_lifetime > Duration::zero());
  const int k = static_cast<int>(graph.size() < 2 ? 0 : graph.ObserversOf(0).size());
  high_ = std::max(1, std::min(options.high, k));
  low_ = std::min(options.low, high_);
}

bool CutDetector::IsReported(MemberIndex member) const {
  if (taken_.contains(member)) return true;
  const auto it = tallies_.find(member);
  return it != tallies_.end() && std::popcount(it->second.mask) >= low_;
}

std::uint64_t CutDetector::ImplicitMask(MemberIndex subject) const {
  std::uint64_t mask = 0;
  const auto observers = graph_.ObserversOf(subject);
  for (std::size_t i = 0; i < observers.size(); ++i) {
    if (IsReported(observers[i])) mask |= std::uint64_t{1} << i;
  }
  return mask;
}

CutDetector::Band CutDetector::Classify(MemberIndex subject, const Tally& tally) const {
  if (std::popcount(tally.mask) < low_) return Band::kQuiet;
  const int effective = std::popcount(tally.mask | ImplicitMask(subject));
  return effective >= high_ ? Band::kStable : Band::kUnstable;
}

void CutDetector::SetBand(Tally& tally, Band band, MonoTime now) {
  if (tally.band == band) return;
  if (tally.band == Band::kStable) --stable_;
  if (tally.band == Band::kUnstable) --unstable_;
  if (band == Band::kStable && stable_++ == 0) first_stable_at_ = now;
  if (band == Band::kUnstable) ++unstable_;
  if (band != Band::kQuiet && static_cast<int>(band) > static_cast<int>(tally.band)) {
    last_rise_ = now;
  }
  if (stable_ == 0) first_stable_at_ = kNever;
  tally.band = band;
}

void CutDetector::Reclassify(MemberIndex subject) {
  const auto it = tallies_.find(subject);
  if (it == tallies_.end()) return;
  SetBand(it->second, Classify(subject, it->second), now_);
}

void CutDetector::ReclassifySubjectsOf(MemberIndex subject, bool was_reported) {
  if (IsReported(subject) == was_reported) return;
  for (MemberIndex t : graph_.SubjectsOf(subject)) Reclassify(t);
}

CutDetector::ReportOutcome CutDetector::Report(MemberIndex subject, MemberIndex observer,
                                               MonoTime now) {
  assert(subject < graph_.size() && observer < graph_.size());
  Expire(now);
  const int slot = graph_.ObserverSlot(subject, observer);
  if (slot < 0) return ReportOutcome::kNotAnObserver;
  if (taken_.contains(subject)) return ReportOutcome::kTaken;
  const auto slot8 = static_cast<std::uint8_t>(slot);
  expiries_.push_back({now_, subject, slot8});
  Tally& tally = tallies_[subject];
  const std::uint64_t bit = std::uint64_t{1} << slot;
  if ((tally.mask & bit) != 0) {
    for (HeldReport& r : tally.reports) {
      if (r.slot == slot8) r.at = now_;
    }
    return ReportOutcome::kRenewed;
  }
  const bool was_reported = IsReported(subject);
  tally.mask |= bit;
  tally.reports.push_back({slot8, now_});
  Reclassify(subject);
  ReclassifySubjectsOf(subject, was_reported);
  return ReportOutcome::kCounted;
}

void CutDetector::Withdraw(MemberIndex subject) {
  const auto it = tallies_.find(subject);
  if (it == tallies_.end()) return;
  const bool was_reported = IsReported(subject);
  SetBand(it->second, Band::kQuiet, now_);
  tallies_.erase(it);
  ReclassifySubjectsOf(subject, was_reported);
}

void CutDetector::DropReport(MemberIndex subject, std::uint8_t slot, MonoTime at) {
  const auto it = tallies_.find(subject);
  if (it == tallies_.end()) return;
  Tally& tally = it->second;
  const auto held = std::find_if(tally.reports.begin(), tally.reports.end(),
                                 [&](const HeldReport& r) { return r.slot == slot; });
  // Renewed since (a later entry of the queue stands for it), or already gone.
  if (held == tally.reports.end() || held->at != at) return;
  const bool was_reported = IsReported(subject);
  tally.reports.erase(held);
  tally.mask &= ~(std::uint64_t{1} << slot);
  if (tally.mask == 0) {
    SetBand(tally, Band::kQuiet, now_);
    tallies_.erase(it);
  } else {
    Reclassify(subject);
  }
  ReclassifySubjectsOf(subject, was_reported);
}

void CutDetector::Expire(MonoTime now) {
  now_ = std::max(now_, now);
  while (!expiries_.empty() &&
         AddSaturated(expiries_.front().at, options_.report_lifetime) <= now_) {
    const Expiry e = expiries_.front();
    expiries_.pop_front();
    DropReport(e.subject, e.slot, e.at);
  }
}

std::vector<MemberIndex> CutDetector::TakeCut(MonoTime now, std::vector<int>* agreed) {
  Expire(now);
  std::vector<MemberIndex> cut;
  if (now_ < ReadyAt()) return cut;
  for (const auto& [subject, tally] : tallies_) {
    if (tally.band == Band::kStable) cut.push_back(subject);
  }
  std::sort(cut.begin(), cut.end());
  if (agreed != nullptr) {
    agreed->clear();
    for (MemberIndex subject : cut) agreed->push_back(EffectiveReports(subject));
  }
  for (MemberIndex subject : cut) {
    SetBand(tallies_[subject], Band::kQuiet, now_);
    tallies_.erase(subject);
    taken_.insert(subject);  // still reported: the implicit rule keeps counting it
  }
  return cut;
}

MonoTime CutDetector::NextDeadline() const {
  MonoTime next = kNever;
  if (!expiries_.empty()) {
    next = AddSaturated(expiries_.front().at, options_.report_lifetime);
  }
  return std::min(next, ReadyAt());
}

MonoTime CutDetector::ReadyAt() const {
  if (stable_ == 0) return kNever;
  const MonoTime held_out = AddSaturated(first_stable_at_, options_.max_hold);
  if (unstable_ > 0) return held_out;
  return std::min(held_out, AddSaturated(last_rise_, options_.settle));
}

int CutDetector::ExplicitReports(MemberIndex subject) const {
  const auto it = tallies_.find(subject);
  return it == tallies_.end() ? 0 : std::popcount(it->second.mask);
}

bool CutDetector::Failing(MemberIndex subject) const {
  const auto it = tallies_.find(subject);
  return it != tallies_.end() && it->second.band != Band::kQuiet;
}

int CutDetector::EffectiveReports(MemberIndex subject) const {
  const auto it = tallies_.find(subject);
  if (it == tallies_.end()) return 0;
  if (std::popcount(it->second.mask) < low_) return std::popcount(it->second.mask);
  return std::popcount(it->second.mask | ImplicitMask(subject));
}

}  // namespace vigil::membership
