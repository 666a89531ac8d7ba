#include "daemon/trace_recorder.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "quality/trace.h"

namespace vigil {

namespace fs = std::filesystem;

TraceRecorder::TraceRecorder(std::string directory) : directory_(std::move(directory)) {}

TraceRecorder::~TraceRecorder() { Flush(); }

void TraceRecorder::Configure(const RecordingConfig& options, const std::vector<PeerConfig>& peers) {
  options_ = options;
  std::unordered_map<std::string, File> next;
  for (const auto& p : peers) {
    if (!p.record) continue;
    auto it = files_.find(p.id);
    if (it != files_.end() && !it->second.failed) {
      next.emplace(p.id, std::move(it->second));
    } else {
      next.emplace(p.id, File{});  // a failed peer gets another chance on reload
    }
  }
  for (auto& [id, f] : files_) {
    if (!next.count(id) && f.open) f.out.flush();
  }
  files_ = std::move(next);
}

bool TraceRecorder::Recording(const std::string& peer) const {
  auto it = files_.find(peer);
  return it != files_.end() && !it->second.failed;
}

std::string TraceRecorder::PathOf(const std::string& peer, std::uint32_t generation) const {
  std::string path = directory_ + "/" + peer + ".csv";
  if (generation > 0) path += "." + std::to_string(generation);
  return path;
}

void TraceRecorder::Fail(const std::string& peer, File& f, const std::string& what) {
  ++counters_.errors;
  f.failed = true;
  if (f.open) f.out.close();
  f.open = false;
  spdlog::warn("trace recording for peer {} stopped: {} (it resumes on reload)", peer, what);
}

// Starts a new file for `peer`, shifting the older ones: .csv -> .csv.1 -> .csv.2 ...; the
// oldest beyond max_files is removed.
void TraceRecorder::Rotate(const std::string& peer) {
  std::error_code ec;
  const std::uint32_t keep = options_.max_files;
  fs::remove(PathOf(peer, keep - 1), ec);
  for (std::uint32_t g = keep - 1; g > 0; --g) {
    if (fs::exists(PathOf(peer, g - 1), ec)) fs::rename(PathOf(peer, g - 1), PathOf(peer, g), ec);
  }
}

bool TraceRecorder::Open(const std::string& peer, File& f) {
  if (f.open) f.out.close();
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) {
    Fail(peer, f, fmt::format("cannot create {}: {}", directory_, ec.message()));
    return false;
  }
  Rotate(peer);
  const std::string path = PathOf(peer, 0);
  f.out.open(path, std::ios::out | std::ios::trunc);
  if (!f.out) {
    Fail(peer, f, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    return false;
  }
  f.out << kTraceHeader << '\n';
  f.bytes = kTraceHeader.size() + 1;
  f.open = true;
  return true;
}

void TraceRecorder::OnArrival(const std::string& peer, std::uint64_t incarnation,
                              std::uint64_t sequence, MonoTime at) {
  auto it = files_.find(peer);
  if (it == files_.end() || it->second.failed) return;
  File& f = it->second;
  if (!f.open || f.incarnation != incarnation) {
    // A new run of the sender: its sequence numbers start again, so a new file.
    if (!Open(peer, f)) return;
    f.incarnation = incarnation;
  } else if (f.bytes >= options_.max_file_bytes) {
    ++counters_.rotations;
    if (!Open(peer, f)) return;
    f.incarnation = incarnation;
  }
  TraceRow row;
  row.seq = sequence;
  row.recv_ms = static_cast<double>((at - MonoTime{}).count()) / 1e6;
  const std::string text = FormatTraceRow(row);
  f.out << text;
  if (!f.out) {
    Fail(peer, f, fmt::format("cannot write {}: {}", PathOf(peer, 0), std::strerror(errno)));
    return;
  }
  f.bytes += text.size();
  ++counters_.rows;
}

void TraceRecorder::Flush() {
  for (auto& [peer, f] : files_) {
    if (!f.open) continue;
    f.out.flush();
    if (!f.out) Fail(peer, f, fmt::format("cannot write {}: {}", PathOf(peer, 0), std::strerror(errno)));
  }
}

}  // namespace vigil
