// The Daemon as a cluster member (cluster.seeds; docs/membership.md, "vigild as a member"):
// which datagrams go to the member, its timer, and its part of the API.
#include "daemon/daemon.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "daemon/cluster_json.h"
#include "daemon/member_page.h"
#include "daemon/peer_source_matcher.h"
#include "membership/gossip_wire.h"

namespace vigil {

namespace asio = boost::asio;

namespace {

// The cluster loop wakes at least this often, whatever the member has due.
constexpr Duration kClusterBeat = std::chrono::seconds(1);
// Seeds given as host names are looked up again this often; while one has no address, at
// the shorter interval.
constexpr auto kSeedRefresh = std::chrono::seconds(30);
constexpr auto kSeedRetry = std::chrono::seconds(5);

// "a.b.c.d:port" or "[v6]:port".
std::string ShowEndpoint(const asio::ip::udp::endpoint& at) {
  return at.address().is_v6() ? fmt::format("[{}]:{}", at.address().to_string(), at.port())
                              : fmt::format("{}:{}", at.address().to_string(), at.port());
}

}  // namespace

void Daemon::StartCluster() {
  if (config_.cluster.seeds.empty()) return;
  auto send = [this](std::span<const std::uint8_t> bytes, const asio::ip::udp::endpoint& to) {
    asio::ip::udp::endpoint where = to;
    if (!udp_->Reachable(where)) return false;
    std::error_code ec;
    return udp_->SendTo(bytes, where, &ec);
  };
  // A validated config with seeds has a keyring (security.require_auth).
  cluster_ = std::make_unique<ClusterMember>(config_, *keyring_, incarnation_,
                                             clock_.Now().mono, std::move(send));
  // Its view's changes go into the event stream, with ids from the same source as peers'.
  cluster_->set_event_listener(
      [this](EventRecord e) { node_->Publish(std::move(e), EpochMillis(clock_.Now().wall)); });
  const auto own = cluster_->Where(config_.node.id);
  const std::string at = own ? fmt::format("{}:{}", own->address().to_string(), own->port())
                             : "?";
  if (cluster_->seed_count() == 0) {
    spdlog::warn("cluster: cluster.seeds names only this node ({}): it starts a cluster of its "
                 "own in 3 s, which other members join through it",
                 at);
  } else {
    spdlog::info("cluster: joining as '{}' at {} through {} seed(s)", config_.node.id, at,
                 cluster_->seed_count());
  }
  asio::co_spawn(io_, ClusterLoop(), Supervise("cluster"));
  if (!cluster_->NamedSeeds().empty()) {
    asio::co_spawn(io_, SeedResolveLoop(), Supervise("seed resolve"));
  }
}

asio::awaitable<void> Daemon::SeedResolveLoop() {
  asio::ip::udp::resolver resolver(io_);
  std::set<std::string> warned;  // seeds whose failure was logged, until they resolve
  while (!stopping_) {
    for (const auto& [id, seed] : cluster_->NamedSeeds()) {
      if (stopping_) co_return;
      co_await ResolveSeed(resolver, id, seed, warned);
    }
    seed_timer_.expires_after(cluster_->unresolved_seeds() > 0 ? kSeedRetry : kSeedRefresh);
    co_await seed_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

asio::awaitable<void> Daemon::ResolveSeed(asio::ip::udp::resolver& resolver,
                                          const std::string& id, const Endpoint& seed,
                                          std::set<std::string>& warned) {
  auto [ec, results] = co_await resolver.async_resolve(seed.host, std::to_string(seed.port),
                                                       asio::as_tuple(asio::use_awaitable));
  if (stopping_) co_return;
  std::vector<asio::ip::udp::endpoint> usable;
  for (const auto& r : results) {
    if (ec) break;
    asio::ip::udp::endpoint at = r.endpoint();  // Reachable may map it to the socket's family
    if (udp_->Reachable(at)) usable.push_back(at);
  }
  if (usable.empty()) {
    // The address known before, if any, serves until a lookup gives another.
    if (warned.insert(id).second) {
      spdlog::warn("cluster: cannot resolve seed {}: {}; trying again", seed.ToString(),
                   ec ? ec.message() : "no address of a family node.bind speaks");
    }
    co_return;
  }
  warned.erase(id);
  // A name with several addresses (round-robin DNS) keeps the one in use while it has it.
  const auto current = cluster_->SeedAddress(id);
  const bool kept = current && std::find(usable.begin(), usable.end(), *current) != usable.end();
  const asio::ip::udp::endpoint at = kept ? *current : usable.front();
  switch (cluster_->SetSeedAddress(id, at)) {
    case ClusterMember::SeedChange::kMoved:
      spdlog::info("cluster: seed {} is at {}", seed.ToString(), ShowEndpoint(Unmapped(at)));
      break;
    case ClusterMember::SeedChange::kSelf:
      spdlog::info("cluster: seed {} is this node itself: nothing is sent to it",
                   seed.ToString());
      break;
    case ClusterMember::SeedChange::kNone:
      break;
  }
}

asio::awaitable<void> Daemon::ClusterLoop() {
  bool joined_logged = false;
  while (!stopping_) {
    const MonoTime now = clock_.Now().mono;
    cluster_timer_.expires_at(TimerPoint(std::min(cluster_->NextWakeup(), now + kClusterBeat)));
    co_await cluster_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    // As the deadline loop does: a stall of this process is found (and the member made to
    // abstain) before its silence is judged, and heartbeats waiting in the socket are
    // handed over first.
    CheckLocalHealth(clock_.Now());
    if (udp_->holding()) udp_->DrainPending();
    cluster_->Tick(clock_.Now().mono);
    if (cluster_->member().view().size() != status_members_) UpdateStatus();
    if (!joined_logged && !cluster_->member().syncing()) {
      joined_logged = true;
      spdlog::info("cluster: {} a cluster of {}",
                   cluster_->member().welcomed() ? "member of" : "welcomed by no seed: started",
                   cluster_->member().view().size());
    }
  }
}

void Daemon::LeaveCluster() {
  if (!cluster_) return;
  if (const std::size_t told = cluster_->Leave(clock_.Now().mono); told > 0) {
    spdlog::info("cluster: leaving: told {} member(s)", told);
  } else {
    spdlog::info("cluster: leaving, with no member to tell (it was still joining, or alone)");
  }
}

bool Daemon::ToCluster(const ReceivedDatagram& d, MonoTime now) {
  const auto& data = d.data;
  if (data.size() >= 4 && data[0] == kMagic0 && data[1] == kMagic1 &&
      data[3] == membership::kMembershipType) {
    if (const auto rejected = cluster_->OnGossip(data, d.from, now)) {
      LogClusterReject(d, *rejected, now);
    }
  } else {
    Message m;
    RejectReason why{};
    if (Decode(data, &m, &why) != DecodeStatus::kOk || m.type != MessageType::kHeartbeat ||
        m.sender_id == config_.node.id || node_->Find(m.sender_id)) {
      return false;  // the peers' (or a reject the node counts)
    }
    if (const auto rejected = cluster_->OnHeartbeat(m, data, d.from, now)) {
      LogClusterReject(d, *rejected, now);
    }
  }
  // What it got may have brought its next wake-up closer.
  if (TimerPoint(cluster_->NextWakeup()) < cluster_timer_.expiry()) cluster_timer_.cancel();
  return true;
}

void Daemon::LogClusterReject(const ReceivedDatagram& d, std::string_view reason,
                              MonoTime now) {
  // Normal, so at debug level and with a budget of its own (it must not hold back the
  // rejects' lines): every join starts with one, and the members echo a run that ended for
  // a few seconds after it did.
  if (reason == "unconfirmed" || reason == "heartbeat_unconfirmed") {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    std::uint64_t suppressed = 0;
    const auto host = HostKey(d.from);
    const std::string_view key(reinterpret_cast<const char*>(host.data()), host.size());
    if (!unconfirmed_log_.Allow(key, now, &suppressed)) return;
    spdlog::debug("cluster: refused datagram from {}:{}: {} (it echoes no incarnation of this "
                  "run of this node: a first contact, one sent before a restart, or a "
                  "replay){}",
                  d.from.address().to_string(), d.from.port(), reason,
                  suppressed ? fmt::format("; {} more from this address suppressed", suppressed)
                             : "");
    return;
  }
  std::uint64_t suppressed = 0;
  if (!AllowRejectLog(d, now, &suppressed)) return;
  const std::string more =
      suppressed ? fmt::format("; {} more from this address suppressed", suppressed) : "";
  spdlog::warn("cluster: rejected datagram from {}:{}: {} ({} bytes){}",
               d.from.address().to_string(), d.from.port(), reason, d.data.size(), more);
}

std::optional<std::string> Daemon::ClusterReloadProblem(const Config& next) const {
  if (!cluster_) return std::nullopt;
  // cluster.seeds itself changes only at restart, so the loader's rules, which look at the
  // new file alone, cannot see the running member.
  if (!next.peers.empty()) {
    return "peers: cannot be added to a running cluster member (cluster.seeds takes effect "
           "at restart; restart vigild to change what this node is)";
  }
  if (next.enrollment.enabled) {
    return "enrollment.enabled cannot be turned on in a running cluster member";
  }
  if (!next.security.require_auth) {
    return "a running cluster member must keep a keyring and security.require_auth";
  }
  return std::nullopt;
}

void Daemon::ReloadCluster(const Config& next) {
  if (!cluster_) return;
  cluster_->SetKeyring(*keyring_);
  if (next.heartbeat.interval != config_.heartbeat.interval ||
      next.node.advertise != config_.node.advertise) {
    spdlog::warn("reload: the cluster member keeps its heartbeat.interval and address until "
                 "vigild restarts");
  }
}

ApiContext Daemon::MakeApiContext() {
  counters_.receive_wakeups = udp_->wakeups();
  ApiContext ctx{*node_,    counters_,  self_, clock_.Now(), &health_, &send_load_,
                 [this] { return clock_.Now(); }, config_.metrics.peer_series_limit};
  if (cluster_) {
    ctx.members = [this](std::string_view query) {
      return MembersResponse(*cluster_, query, [this] { return clock_.Now(); });
    };
    ctx.cluster = [this] { return ClusterJson(*cluster_, clock_.Now().mono); };
    ctx.cluster_metrics = [this] { return ClusterMetricsText(*cluster_); };
  }
  return ctx;
}

}  // namespace vigil
