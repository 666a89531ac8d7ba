#include "config/config_writer.h"

#include <yaml-cpp/yaml.h>

#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.h"
#include "detector/detector_knobs.h"

namespace vigil {

namespace {

using KnobValues = std::vector<std::pair<std::string_view, std::string>>;

void EmitSection(YAML::Emitter& out, const Config& c, std::string_view section) {
  std::vector<std::pair<const Setting*, YAML::Node>> values;
  for (const Setting* s : SettingsOf(section)) {
    if (auto v = s->write(c, *s); !v.IsNull()) values.emplace_back(s, std::move(v));
  }
  if (values.empty()) return;
  out << YAML::Key << std::string(section) << YAML::Value << YAML::BeginMap;
  for (const auto& [s, v] : values) {
    out << YAML::Key << std::string(s->Name()) << YAML::Value;
    if (s->type == SettingType::kFileMode) {
      out << YAML::DoubleQuoted << v.Scalar();  // plain 0660 would read as a number elsewhere
    } else if (v.IsSequence()) {
      out << YAML::Flow << v;
    } else {
      out << v;
    }
  }
  out << YAML::EndMap;
}

// The knobs that apply to the kind of `options`, skipping those where it equals `base` (the
// kind is compared with `inherited_kind`). A value the loader would refuse is a default
// derived from the interval (a zero duration) and is left out.
KnobValues Knobs(const DetectorOptions& options, const DetectorOptions* base,
                 DetectorKind inherited_kind) {
  KnobValues values;
  for (const auto& knob : DetectorKnobs()) {
    if (!knob.AppliesTo(options.kind())) continue;
    const auto value = knob.Get(options);
    if (!value) continue;
    if (knob.key == "kind") {
      if (base && options.kind() == inherited_kind) continue;
    } else if (base && knob.Get(*base) == value) {
      continue;
    }
    DetectorOptions scratch = options;
    if (knob.Set(scratch, *value)) continue;
    values.emplace_back(knob.key, *value);
  }
  return values;
}

void EmitKnobs(YAML::Emitter& out, const KnobValues& values) {
  out << YAML::Key << "detector" << YAML::Value << YAML::BeginMap;
  for (const auto& [key, value] : values) {
    out << YAML::Key << std::string(key) << YAML::Value << value;
  }
  out << YAML::EndMap;
}

void EmitPeers(YAML::Emitter& out, const Config& c) {
  if (c.peers.empty()) return;
  out << YAML::Key << "peers" << YAML::Value << YAML::BeginSeq;
  for (const auto& peer : c.peers) {
    out << YAML::BeginMap << YAML::Key << "id" << YAML::Value << peer.id;
    out << YAML::Key << "address" << YAML::Value << peer.address.ToString();
    // What the peer would inherit: the defaults, switched to its kind.
    DetectorOptions inherited = c.detector;
    inherited.set_kind(peer.detector.kind());
    const auto overrides = Knobs(peer.detector, &inherited, c.detector.kind());
    if (!overrides.empty()) EmitKnobs(out, overrides);
    if (peer.record != c.recording.enabled) {
      out << YAML::Key << "record" << YAML::Value << (peer.record ? "true" : "false");
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

}  // namespace

std::string ConfigYaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  EmitSection(out, config, "node");
  EmitSection(out, config, "heartbeat");
  EmitKnobs(out, Knobs(config.detector, nullptr, config.detector.kind()));
  EmitPeers(out, config);
  EmitSection(out, config, "recording");
  for (const char* section :
       {"api", "metrics", "log", "state", "events", "security", "enrollment", "cluster"}) {
    EmitSection(out, config, section);
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace vigil
