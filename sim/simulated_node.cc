#include "sim/simulated_node.h"

#include <chrono>

#include "daemon/send_schedule.h"

namespace vigil::sim {

namespace {

// Whether a datagram came from the host the peer is configured at (the host only, as
// vigild compares addresses, not ports).
class FromAddress final : public SourceMatcher {
 public:
  FromAddress(const Node& node, const std::string& from) : node_(node), from_(from) {}
  bool Matches(PeerIndex peer) const override {
    std::string host = from_.substr(0, from_.rfind(':'));  // "host:port", "[v6]:port"
    if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return host == node_.peers()[peer].address().host;
  }

 private:
  const Node& node_;
  const std::string& from_;
};

}  // namespace

SimulatedNode::SimulatedNode(Simulation& sim, SimulatedNetwork& net, Config config,
                             std::string address)
    : sim_(sim), net_(net), config_(std::move(config)), address_(std::move(address)) {}

void SimulatedNode::Start() {
  const std::uint64_t run = ++run_;
  running_ = true;
  armed_ = kNever;
  const Timestamp now = sim_.stamp();
  // As vigild: the incarnation is the start time in microseconds (above any earlier run's).
  const auto incarnation = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(now.wall.time_since_epoch())
          .count());
  node_ = std::make_unique<Node>(config_, now);
  node_->SetAuthentication(std::nullopt, config_.security.require_auth, config_.security.require_echo);
  node_->set_own_incarnation(incarnation);
  node_->set_event_listener([this](const EventRecord& e) { events_.push_back(e); });
  composer_.emplace(config_.node.id, config_.heartbeat.interval, incarnation);
  net_.Attach(address_, [this, run](std::span<const std::uint8_t> d, const std::string& from) {
    if (run == run_) Receive(d, from);
  });
  slot_ = now.mono;
  SendRound(now.mono, ++schedule_);
  ArmDeadline();
}

void SimulatedNode::Crash() {
  ++run_;
  ++schedule_;
  running_ = false;
  net_.Detach(address_);
}

void SimulatedNode::Stop() {
  if (!running_) return;
  for (int copy = 0; copy < 2; ++copy) {
    const RoundMessage m = composer_->NewRound(MessageType::kLeave, sim_.now());
    const std::size_t peers = node_->peers().size();
    for (std::size_t s = 0; SliceOf(s, peers).begin < peers; ++s) SendSlice(m, s);
  }
  Crash();
}

std::vector<ConfigError> SimulatedNode::Reload(const std::string& yaml) {
  ConfigResult r = LoadConfigString(yaml, config_.source.empty() ? "reload" : config_.source);
  if (r.ok() && r.config->node.id != config_.node.id) {
    r.errors.push_back({r.config->source, 0, 0, "node.id", "cannot change on reload"});
  }
  if (!r.ok()) return r.errors;
  const bool new_interval = r.config->heartbeat.interval != config_.heartbeat.interval;
  config_ = std::move(*r.config);
  if (!running_) return {};
  node_->Reconfigure(config_, sim_.stamp());
  node_->SetAuthentication(std::nullopt, config_.security.require_auth, config_.security.require_echo);
  composer_->set_interval(config_.heartbeat.interval);
  armed_ = kNever;  // deadlines were rebuilt
  ArmDeadline();
  if (new_interval) {
    // As vigild's send loop (RestartSendSchedule): a round now, then a new schedule from it.
    slot_ = sim_.now();
    SendRound(slot_, ++schedule_);
  }
  return {};
}

PeerState SimulatedNode::StateOf(std::string_view peer) const {
  if (!node_) return PeerState::kUnknown;
  const auto index = node_->Find(peer);
  return index ? node_->peers()[*index].monitor.state() : PeerState::kUnknown;
}

void SimulatedNode::SendRound(MonoTime slot_start, std::uint64_t schedule) {
  if (schedule != schedule_ || !running_) return;
  const std::uint64_t run = run_;
  const RoundMessage m = composer_->NewRound(MessageType::kHeartbeat, sim_.now());
  const RoundPlan plan = PlanRound(node_->peers().size(), config_.heartbeat.interval);
  for (std::size_t s = 0; s < plan.slices; ++s) {
    // The daemon's paced slices: slice s leaves `spacing` after slice s-1.
    sim_.At(slot_start + plan.spacing * static_cast<std::int64_t>(s), [this, m, s, run] {
      if (run == run_) SendSlice(m, s);
    });
  }
  std::uniform_real_distribution<double> spread(-config_.heartbeat.jitter,
                                                config_.heartbeat.jitter);
  const NextRound next =
      NextRoundAfter(slot_, config_.heartbeat.interval, sim_.now(), spread(sim_.rng()));
  slot_ = next.slot;
  sim_.At(next.start, [this, schedule, start = next.start] { SendRound(start, schedule); });
}

void SimulatedNode::SendSlice(const RoundMessage& m, std::size_t slice) {
  const auto& peers = node_->peers();
  const SliceRange range = SliceOf(slice, peers.size());
  for (std::size_t i = range.begin; i < range.end && i < peers.size(); ++i) {
    const std::size_t size = composer_->Stamp(m, peers[i].echo, peers[i].wire_version, buffer_);
    net_.Send(address_, peers[i].address().ToString(), std::span(buffer_.data(), size));
  }
}

void SimulatedNode::Receive(std::span<const std::uint8_t> datagram, const std::string& from) {
  const FromAddress source(*node_, from);
  node_->OnDatagram(datagram, false, sim_.stamp(),
                    config_.security.check_source_address ? &source : nullptr);
  ArmDeadline();
}

void SimulatedNode::ArmDeadline() {
  const MonoTime wake = node_->NextWakeup();
  if (wake == kNever || wake >= armed_) return;
  armed_ = wake;
  sim_.At(wake, [this, run = run_] {
    if (run != run_) return;
    armed_ = kNever;
    node_->RunDue(sim_.stamp());
    ArmDeadline();
  });
}

}  // namespace vigil::sim
