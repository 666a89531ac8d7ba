// cluster.seeds (docs/configuration.md, docs/membership.md "vigild as a member"): a list of
// IP addresses or host names, and the rules a member's config must meet, each reported at its key.
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "config/config_writer.h"

namespace vigil {
namespace {

const char* kKeyed = "security:\n  keyring: /etc/vigil/keys\n";

// The first error's "key: message", or "" if the config loads.
std::string FirstError(const std::string& yaml) {
  const auto r = LoadConfigString(yaml, "c.yaml");
  if (r.ok()) return "";
  return r.errors.front().key + ": " + r.errors.front().message;
}

TEST(ClusterConfig, SeedsAreAddressesOrHostNamesWithTheDefaultPort) {
  const std::string yaml =
      std::string("node:\n  id: a\n  bind: \"[::]\"\n  advertise: \"[fd00::1]\"\n") + kKeyed +
      "cluster:\n  seeds: [\"10.0.0.2\", \"[fd00::3]:8000\", \"seed-1.example.com:7000\"]\n";
  const auto r = LoadConfigString(yaml, "c.yaml");
  ASSERT_TRUE(r.ok()) << r.errors.front().ToString();
  ASSERT_EQ(r.config->cluster.seeds.size(), 3u);
  EXPECT_EQ(r.config->cluster.seeds[0].ToString(), "10.0.0.2:7946");
  EXPECT_EQ(r.config->cluster.seeds[1].ToString(), "[fd00::3]:8000");
  EXPECT_EQ(r.config->cluster.seeds[2].ToString(), "seed-1.example.com:7000");
  EXPECT_EQ(r.config->cluster.seeds[2].kind, Endpoint::HostKind::kName);
  // --print-config writes them back, and what it writes loads to the same.
  const auto again = LoadConfigString(ConfigYaml(*r.config), "printed.yaml");
  ASSERT_TRUE(again.ok()) << again.errors.front().ToString();
  EXPECT_EQ(again.config->cluster, r.config->cluster);
  EXPECT_TRUE(LoadConfigString("node:\n  id: a\n", "m.yaml").config->cluster.seeds.empty());
}

TEST(ClusterConfig, EachBrokenRuleIsReportedAtItsKey) {
  const std::string bound = "node:\n  id: a\n  bind: 10.0.0.1\n";
  const std::string seeds = "cluster:\n  seeds: [\"10.0.0.2\"]\n";
  struct Case {
    std::string yaml;
    std::string expect;  // a part of the first error; empty: the config is valid
  };
  const Case cases[] = {
      {bound + kKeyed + "cluster:\n  seeds: []\n", "cluster.seeds: expected a list of addr"},
      {bound + kKeyed + "cluster:\n  seeds: 10.0.0.2\n", "cluster.seeds: expected a list"},
      {bound + kKeyed + "cluster:\n  seeds: [\"seed.example\", \"-bad-\"]\n",
       "cluster.seeds[1]"},
      // A host name may resolve to either family: nothing to check before it does.
      {"node:\n  id: a\n  bind: \"[fd00::1]\"\n" + std::string(kKeyed) +
           "cluster:\n  seeds: [\"seed.example\"]\n",
       ""},
      {bound + kKeyed + "cluster:\n  seeds: [\"10.0.0.2:99999\"]\n", "cluster.seeds[0]"},
      {bound + seeds, "cluster.seeds: requires security.keyring"},
      {"node:\n  id: a\n" + std::string(kKeyed) + seeds, "node.advertise to this node's IP"},
      {"node:\n  id: a\n  advertise: host.example\n" + std::string(kKeyed) + seeds,
       "node.advertise: must be an IP address"},
      {"node:\n  id: a\n  advertise: 0.0.0.0\n" + std::string(kKeyed) + seeds,
       "node.advertise: must be this node's own IP address"},
      {bound + kKeyed + "enrollment:\n  enabled: true\n" + seeds,
       "cannot be used with enrollment.enabled"},
      {bound + kKeyed + "peers:\n  - id: b\n    address: 10.0.0.9\n" + seeds,
       "cannot be used with peers:"},
      {bound + kKeyed + "cluster:\n  seed: [\"10.0.0.2\"]\n", "did you mean 'seeds'"},
      {bound + kKeyed + "cluster:\n  seeds: [\"10.0.0.2\", \"[fd00::2]\"]\n",
       "cluster.seeds[1]: an IPv6 address cannot be reached from node.bind"},
      {"node:\n  id: a\n  bind: \"[fd00::1]\"\n" + std::string(kKeyed) + seeds,
       "cluster.seeds[0]: an IPv4 address cannot be reached from node.bind"},
      {"node:\n  id: a\n  bind: \"[::]\"\n  advertise: 10.0.0.1\n" + std::string(kKeyed) +
           "cluster:\n  seeds: [\"[fd00::2]\"]\n",
       ""},
      {"node:\n  id: a\n  bind: 0.0.0.0\n  advertise: \"[fd00::1]\"\n" +
           std::string(kKeyed) + seeds,
       "node.advertise: an IPv6 address, but node.bind"},
  };
  for (const Case& c : cases) {
    const std::string error = FirstError(c.yaml);
    if (c.expect.empty()) {
      EXPECT_EQ(error, "") << c.yaml;  // valid
    } else {
      EXPECT_NE(error.find(c.expect), std::string::npos) << c.yaml << "\ngot: " << error;
    }
  }
  // A wildcard bind with an IP to advertise is a valid member.
  EXPECT_EQ(FirstError("node:\n  id: a\n  advertise: 10.0.0.1\n" + std::string(kKeyed) + seeds),
            "");
}

}  // namespace
}  // namespace vigil
