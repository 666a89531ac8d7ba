#include "ctl/commands.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <ostream>

#include <fmt/format.h>

#include "config/config.h"
#include "ctl/format.h"
#include "ctl/json_fields.h"
#include "preflight/startup_check.h"
#include "transport/keyring.h"
#include "json/json_text.h"

#include <fcntl.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace vigil {

namespace json = boost::json;

namespace {

// GETs `target` and parses JSON; on failure writes one line to `err` and returns nullopt
// with *code set.
std::optional<json::value> GetJson(const CtlOptions& o, const std::string& target,
                                   std::ostream& err, int* code, std::string* raw = nullptr) {
  ApiClient client(o.socket);
  const auto r = client.Get(target);
  if (!r) {
    err << "vigilctl: " << r.message() << "\n";
    *code = kExitError;
    return std::nullopt;
  }
  if (raw) *raw = r->body;
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec) {
    err << "vigilctl: vigild sent a response that is not JSON (" << ec.message() << ")\n";
    *code = kExitError;
    return std::nullopt;
  }
  if (!v.is_object()) {
    // Valid JSON of another shape (not vigild, or a newer one): say so, never abort.
    err << "vigilctl: vigild sent JSON that is not an object\n";
    *code = kExitError;
    return std::nullopt;
  }
  if (r->status != 200) {
    const auto* msg = v.as_object().if_contains("error");
    err << "vigilctl: " << (msg && msg->is_string() ? std::string(msg->as_string()) : r->body)
        << "\n";
    *code = r->status == 404 ? kExitNo : kExitError;
    return std::nullopt;
  }
  return v;
}

std::string Phi(const json::object& p) {
  const auto* inf = p.if_contains("phi_infinite");
  if (inf && inf->is_bool() && inf->as_bool()) return "inf";
  const auto* v = p.if_contains("phi");
  if (v && v->is_double()) return fmt::format("{:.2f}", v->as_double());
  if (v && v->is_int64()) return std::to_string(v->as_int64());
  return "-";
}

// An epoch-ms time as "local time (3s ago)"; "-" for a missing one (negative).
std::string SinceText(std::int64_t since) {
  return since < 0 ? "-" : FormatLocalTime(since) + " (" + AgoFromNow(since) + ")";
}

std::vector<std::string> PeerRow(const json::object& p) {
  const std::int64_t age = Int(p, "last_heartbeat_age_ms");
  const std::string last = age < 0 ? "never" : FormatAgo(age);
  const std::int64_t since = Int(p, "since");
  return {Str(p, "id"), Str(p, "address"), Str(p, "state"), Phi(p), last, SinceText(since)};
}

// One line on a cluster member's view, from the cluster object of /v1/self or
// /v1/members: "cluster member n1, incarnation I: 9 members (0 suspect), 1 down, 0 left; it
// holds 90.0% of the cluster (a majority)".
std::string ClusterLine(const json::object& c) {
  const auto* syncing = c.if_contains("syncing");
  const bool joining = syncing && syncing->is_bool() && syncing->as_bool();
  const auto* reach = c.if_contains("reach");
  // Rounded down: a cluster short of one member never reads 100.0 %.
  const double share = reach && reach->is_number()
                           ? std::floor(reach->to_number<double>() * 1000) / 10
                           : -1;
  const auto* majority = c.if_contains("majority");
  const bool most = majority && majority->is_bool() && majority->as_bool();
  std::string line = fmt::format(
      "cluster member {}, incarnation {}: {} members ({} suspect), {} down, {} left",
      Str(c, "self"), Str(c, "incarnation"), Str(c, "members"), Str(c, "suspect"),
      Str(c, "down"), Str(c, "left"));
  if (joining) return line + " (still joining)\n";
  if (share < 0) return line + "\n";
  return line + fmt::format("; it holds {:.1f}% of the cluster{}\n", share,
                            most ? " (a majority)"
                                 : ": NOT a majority (the minority side of a partition, or "
                                   "half of the cluster or more is down)");
}

}  // namespace

int CmdStatus(const CtlOptions& o, std::ostream& out, std::ostream& err) {
  int code = kExitOk;
  std::string raw;
  const auto v = GetJson(o, "/v1/peers", err, &code, &raw);
  if (!v) return code;
  if (o.json) {
    out << raw;
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"PEER", "ADDRESS", "STATE", "PHI", "LAST SEEN", "SINCE"}};
  const auto* peers = v->as_object().if_contains("peers");
  if (!peers || !peers->is_array()) {
    err << "vigilctl: vigild's /v1/peers has no \"peers\" list\n";
    return kExitError;
  }
  for (const auto& p : peers->as_array()) {
    if (p.is_object()) rows.push_back(PeerRow(p.as_object()));
  }
  // A cluster member says so first: its members are not peers.
  const auto self = GetJson(o, "/v1/self", err, &code);
  if (!self) return code;
  const auto* cluster = self->as_object().if_contains("cluster");
  const bool member = cluster && cluster->is_object();
  if (member) out << ClusterLine(cluster->as_object());
  out << FormatTable(rows);
  if (rows.size() == 1) {
    out << (member ? "(no peers: 'vigilctl members' lists the members)\n"
                   : "(no peers configured)\n");
  }
  return kExitOk;
}

namespace {

std::vector<std::string> MemberRow(const json::object& e) {
  const std::int64_t since = Int(e, "since");
  const std::int64_t last = Int(e, "last_heartbeat");
  const std::string how = Str(e, "provenance");
  const std::string counted =
      Int(e, "reports", 0) > 0 ? " " + Str(e, "reports") + "/" + Str(e, "observers") : "";
  // Only a member's K observers hear it: elsewhere nothing is "last seen".
  const std::string seen = last >= 0 ? AgoFromNow(last) : how == "view" ? "not watched" : "-";
  return {Str(e, "id"), Str(e, "address"), Str(e, "state"), how + counted, seen,
          SinceText(since)};
}

}  // namespace

int CmdMembers(const CtlOptions& o, const std::string& state, std::ostream& out,
               std::ostream& err) {
  int code = kExitOk;
  // One request: the body is streamed, and this is the whole list at one moment.
  std::string raw;
  auto v = GetJson(o, state.empty() ? "/v1/members" : "/v1/members?state=" + state, err, &code,
                   &raw);
  if (!v) return code;
  json::object& doc = v->as_object();
  const auto* list = doc.if_contains("list");
  if (!list || !list->is_array()) {
    err << "vigilctl: vigild's /v1/members has no \"list\"\n";
    return kExitError;
  }
  if (o.json) {
    out << raw;
    return kExitOk;
  }
  out << ClusterLine(doc);
  std::vector<std::vector<std::string>> rows = {
      {"MEMBER", "ADDRESS", "STATE", "PROVENANCE", "LAST SEEN", "SINCE"}};
  for (const auto& m : list->as_array()) {
    if (m.is_object()) rows.push_back(MemberRow(m.as_object()));
  }
  out << FormatTable(rows);
  return kExitOk;
}

int CmdGet(const CtlOptions& o, const std::string& peer, std::ostream& out, std::ostream& err) {
  int code = kExitOk;
  std::string raw;
  const auto v = GetJson(o, "/v1/peers/" + peer, err, &code, &raw);
  if (!v) return code;
  if (o.json) {
    out << raw;
    return kExitOk;
  }
  const auto& p = v->as_object();
  const std::int64_t last = Int(p, "last_heartbeat");
  const std::int64_t since = Int(p, "since");
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"peer:", Str(p, "id")});
  rows.push_back({"address:", Str(p, "address")});
  rows.push_back({"state:", Str(p, "state")});
  rows.push_back({"since:", SinceText(since)});
  rows.push_back({"last seen:", last < 0 ? "never"
                                         : FormatLocalTime(last) + " (" +
                                               FormatAgo(Int(p, "last_heartbeat_age_ms")) + ")"});
  rows.push_back({"phi:", Phi(p) + " (threshold " + Str(p, "threshold") + ", " +
                              Str(p, "detector") + ")"});
  rows.push_back({"incarnation:", Str(p, "incarnation")});
  rows.push_back({"heartbeats:", Str(p, "heartbeats_received") + " received, " +
                                     Str(p, "heartbeats_lost") + " lost"});
  rows.push_back({"interval:", "mean " + Str(p, "interval_mean_ms") + " ms, stddev " +
                                   Str(p, "interval_stddev_ms") + " ms"});
  rows.push_back({"flaps:", Str(p, "flaps")});
  out << FormatTable(rows);
  return kExitOk;
}

int CmdIsUp(const CtlOptions& o, const std::string& peer, std::ostream& out, std::ostream& err) {
  int code = kExitOk;
  const auto v = GetJson(o, "/v1/peers/" + peer, err, &code);
  if (!v) return code == kExitNo ? kExitError : code;  // an unknown peer is an error
  const std::string state = Str(v->as_object(), "state");
  if (!o.quiet) out << state << "\n";
  return state == "up" ? kExitOk : kExitNo;
}

int CmdMetrics(const CtlOptions& o, std::ostream& out, std::ostream& err) {
  ApiClient client(o.socket);
  const auto r = client.Get("/metrics");
  if (!r) {
    err << "vigilctl: " << r.message() << "\n";
    return kExitError;
  }
  out << r->body;
  return r->status == 200 ? kExitOk : kExitError;
}

int CmdKeygen(const std::string& file, std::ostream& out, std::ostream& err) {
  if (!InitCrypto()) {
    err << "vigilctl: libsodium failed to initialize\n";
    return kExitError;
  }
  const std::string key = GenerateKeyBase64();
  if (file.empty()) {
    out << key << "\n";
    return kExitOk;
  }
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    err << "vigilctl: cannot create " << file << ": " << std::strerror(errno)
        << (errno == EEXIST ? " (refusing to overwrite a key file)" : "") << "\n";
    return kExitError;
  }
  const std::string line = key + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    err << "vigilctl: cannot write " << file << "\n";
    return kExitError;
  }
  out << "wrote a new key to " << file << " (mode 0600)\n";
  return kExitOk;
}

int CmdCheckConfig(const CtlOptions& o, const std::string& file, std::ostream& out,
                   std::ostream& err) {
  ConfigResult r = LoadConfigFile(file);
  std::vector<std::string> notes;
  if (r.ok()) {
    // What vigild would refuse at start, with its messages (preflight/startup_check.h).
    r.errors = CheckStartable(*r.config, file, &notes);
  }
  if (o.json) {
    json::object doc;
    json::array errors;
    for (const auto& e : r.errors) {
      json::object je;
      je["file"] = e.file;
      je["line"] = e.line;
      je["column"] = e.column;
      je["key"] = e.key;
      je["message"] = e.message;
      errors.push_back(std::move(je));
    }
    doc["ok"] = r.ok();
    doc["errors"] = std::move(errors);
    json::array jnotes;
    for (const auto& n : notes) jnotes.emplace_back(n);
    doc["notes"] = std::move(jnotes);
    out << ToJsonText(doc) << "\n";
    return r.ok() ? kExitOk : kExitNo;
  }
  if (!r.ok()) {
    for (const auto& e : r.errors) err << e.ToString() << "\n";
    err << file << ": " << r.errors.size() << " error(s)\n";
    return kExitNo;
  }
  for (const auto& n : notes) err << file << ": note: " << n << "\n";
  out << file << ": OK (" << r.config->peers.size() << " peers)\n";
  return kExitOk;
}

}  // namespace vigil
