#include "detector/detector_knobs.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "base/did_you_mean.h"
#include "base/duration.h"
#include "base/value_text.h"

namespace vigil {

namespace {

using O = DetectorOptions;

// The table. Bounds as DetectorKnob says; meanings as docs/configuration.md states them. A
// per-kind field's `kinds` is its struct's kind (detector_schema_test checks).
const DetectorKnob kKnobs[] = {
    {"kind", "", DetectorKnob::KindField{}, 0, 0, false, "which detector"},
    {"threshold", "phi, phi-exponential", &O::threshold, 0, 1000, false,
     "the peer is down once phi reaches this"},
    {"suspect_threshold", "adaptive, phi, phi-exponential", &O::suspect_threshold, 0, 1000,
     false, "optional warning level: suspect between it and the threshold"},
    {"max_sample_size", "phi, phi-exponential", &O::max_sample_size, 2, 100000, true,
     "inter-arrival intervals remembered"},
    {"min_std_deviation", "phi", &PhiKnobs::min_std_deviation, 0, 0, false,
     "floor on the standard deviation"},
    {"acceptable_heartbeat_pause", "phi", &PhiKnobs::acceptable_heartbeat_pause, 0, 0, true,
     "extra silence tolerated on top of the mean"},
    {"first_heartbeat_estimate", "phi", &PhiKnobs::first_heartbeat_estimate, 0, 0, false,
     "the interval assumed before any is measured"},
    {"timeout", "timeout", &TimeoutKnobs::timeout, 0, 0, false,
     "silence after which the peer is down"},
    {"suspect_after", "timeout", &TimeoutKnobs::suspect_after, 0, 0, false,
     "silence after which the peer is suspect"},
    {"max_interval", "phi-exponential", &ExponentialKnobs::max_interval, 0, 0, false,
     "longer intervals are not learned"},
    {"memory", "adaptive", &AdaptiveKnobs::memory, 1, 86400, false,
     "half-life of what the adaptive detector remembers"},
    {"margin", "adaptive", &AdaptiveKnobs::margin, 1, 100, true,
     "how far beyond the worst recent lateness a heartbeat may still come"},
    {"target_mistakes_per_hour", "adaptive", &AdaptiveKnobs::target_mistakes_per_hour, 0, 60,
     false, "the false-suspicion rate its loss allowance aims for"},
    {"rise", "", &O::rise, 1, 100, true,
     "heartbeats in a row needed before a down peer is up again"},
};

// The value for a number knob, or the message.
std::variant<double, std::string> Number(const DetectorKnob& k, std::string_view text) {
  auto v = ParseNumberIn(text, k.low, k.high, k.low_inclusive);
  if (!v) return v.message();
  return *v;
}

std::variant<std::int64_t, std::string> Whole(const DetectorKnob& k, std::string_view text) {
  auto v = ParseWholeIn(text, static_cast<std::int64_t>(k.low),
                        static_cast<std::int64_t>(k.high));
  if (!v) return v.message();
  return *v;
}

std::variant<Duration, std::string> DurationOf(const DetectorKnob& k, std::string_view text) {
  auto v = ParseDurationIn(text, k.low_inclusive, DurationFromSeconds(k.low),
                           DurationFromSeconds(k.high));
  if (!v) return v.message();
  return *v;
}

// Parses `text` for knob `k` into a value of type T, or the message.
template <typename T>
std::variant<T, std::string> Parse(const DetectorKnob& k, std::string_view text) {
  if constexpr (std::is_same_v<T, DetectorKind>) {
    if (const auto kind = ParseDetectorKind(text)) return *kind;
    return fmt::format("expected one of adaptive, phi, phi-exponential, timeout, found '{}'",
                       text);
  } else if constexpr (std::is_same_v<T, double>) {
    return Number(k, text);
  } else if constexpr (std::is_integral_v<T>) {
    auto v = Whole(k, text);
    if (auto* e = std::get_if<std::string>(&v)) return *e;
    return static_cast<T>(std::get<std::int64_t>(v));
  } else {
    return DurationOf(k, text);
  }
}

template <typename T>
std::string Text(const T& v) {
  if constexpr (std::is_same_v<T, DetectorKind>) {
    return std::string(DetectorKindName(v));
  } else if constexpr (std::is_same_v<T, Duration>) {
    return FormatDuration(v);
  } else {
    return fmt::format("{}", v);
  }
}

// For a Field alternative M: Value, the type its text parses to, and for a member pointer
// `T C::*` also Stored (T) and Holder (C: DetectorOptions or one kind's knobs).
template <typename M>
struct FieldTraits;
template <>
struct FieldTraits<DetectorKnob::KindField> {
  using Value = DetectorKind;
};
template <typename T, typename C>
struct FieldTraits<T C::*> {
  using Stored = T;
  using Value = OptionalValueT<T>;
  using Holder = C;
};

// What a `T C::*` field points into: `options` itself for a shared field, else its knobs
// of kind C, null when `options` is of another kind. Options may be const.
template <typename C, typename Options>
auto* HolderIn(Options& options) {
  if constexpr (std::is_same_v<C, DetectorOptions>) {
    return &options;
  } else {
    return options.template knobs_if<C>();
  }
}

// Whether `options` has a place for `field`: the kind and shared fields always, a field of
// one kind's knobs only while the options are of that kind.
bool HasPlace(const DetectorKnob::Field& field, const DetectorOptions& options) {
  return std::visit(
      [&](auto member) {
        if constexpr (std::is_same_v<decltype(member), DetectorKnob::KindField>) {
          return true;
        } else {
          return HolderIn<typename FieldTraits<decltype(member)>::Holder>(options) != nullptr;
        }
      },
      field);
}

}  // namespace

std::optional<std::string> DetectorKnob::Set(DetectorOptions& options,
                                             std::string_view text) const {
  if (!HasPlace(field, options)) {
    return fmt::format("does not apply to kind {}", DetectorKindName(options.kind()));
  }
  return std::visit(
      [&](auto member) -> std::optional<std::string> {
        using Traits = FieldTraits<decltype(member)>;
        auto parsed = Parse<typename Traits::Value>(*this, text);
        if (auto* error = std::get_if<std::string>(&parsed)) return *error;
        const auto& value = std::get<typename Traits::Value>(parsed);
        if constexpr (std::is_same_v<decltype(member), KindField>) {
          options.set_kind(value);
        } else {
          HolderIn<typename Traits::Holder>(options)->*member = value;
        }
        return std::nullopt;
      },
      field);
}

std::optional<std::string> DetectorKnob::Check(std::string_view text) const {
  return std::visit(
      [&](auto member) -> std::optional<std::string> {
        auto parsed = Parse<typename FieldTraits<decltype(member)>::Value>(*this, text);
        if (auto* error = std::get_if<std::string>(&parsed)) return *error;
        return std::nullopt;
      },
      field);
}

std::optional<std::string> DetectorKnob::Apply(DetectorOptions& options,
                                               std::string_view text) const {
  return HasPlace(field, options) ? Set(options, text) : Check(text);
}

std::optional<std::string> DetectorKnob::Get(const DetectorOptions& options) const {
  return std::visit(
      [&](auto member) -> std::optional<std::string> {
        if constexpr (std::is_same_v<decltype(member), KindField>) {
          return Text(options.kind());
        } else {
          using Traits = FieldTraits<decltype(member)>;
          const auto* holder = HolderIn<typename Traits::Holder>(options);
          if (!holder) return std::nullopt;
          const auto& value = holder->*member;
          if constexpr (std::is_same_v<typename Traits::Stored, typename Traits::Value>) {
            return Text(value);
          } else {
            if (!value) return std::nullopt;
            return Text(*value);
          }
        }
      },
      field);
}

std::string_view DetectorKnob::Expected() const {
  return std::visit(
      [](auto member) -> std::string_view {
        using T = typename FieldTraits<decltype(member)>::Value;
        if constexpr (std::is_same_v<T, DetectorKind>) {
          return "a string";
        } else if constexpr (std::is_same_v<T, double>) {
          return "a number";
        } else if constexpr (std::is_integral_v<T>) {
          return "a whole number";
        } else {
          return "a duration such as 250ms, 1.5s or 2m";
        }
      },
      field);
}

bool DetectorKnob::AppliesTo(DetectorKind kind) const {
  if (kinds.empty()) return true;
  std::string_view list = kinds;
  const std::string_view name = DetectorKindName(kind);
  while (!list.empty()) {
    const auto comma = list.find(", ");
    if (list.substr(0, comma) == name) return true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 2);
  }
  return false;
}

std::span<const DetectorKnob> DetectorKnobs() { return kKnobs; }

const DetectorKnob* FindDetectorKnob(std::string_view key) {
  for (const auto& k : kKnobs) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

}  // namespace vigil
