// What aismi-device-plugin advertises from aismid's VFs, and how it prefers devices.
#include "plugin_model.hpp"

#include <gtest/gtest.h>

using namespace aismi::deviceplugin;

namespace {

VfView vf(const std::string& address, unsigned card, const std::string& profile, const std::string& health = "ok") {
    VfView v;
    v.address = address;
    v.card = card;
    v.profile = profile;
    v.health = health;
    v.iommuGroup = 7;
    return v;
}

}  // namespace

TEST(DevicePluginModel, OneResourcePerProfileWithTheFreeProvisionedVfs) {
    auto assigned = vf("0000:3b:00.6", 0, "quarter");
    assigned.domain = "web1";
    auto quarantined = vf("0000:3b:00.7", 0, "quarter");
    quarantined.quarantined = true;
    auto dirty = vf("0000:3b:01.0", 0, "quarter");
    dirty.scrubPending = true;
    const auto r = resourcesOf({vf("0000:3b:00.5", 0, "quarter"), vf("0000:3b:00.4", 0, "quarter", "warning"), vf("0000:3d:00.4", 1, "eighth", "critical"),
                                vf("0000:3d:00.5", 1, ""), vf("0000:3d:00.6", 1, "eighth", "lost"), assigned, quarantined, dirty},
                               "aismi.io");
    ASSERT_EQ(r.size(), 2u) << "an unprovisioned VF is no device";
    const auto& q = r.at("aismi.io/quarter");
    ASSERT_EQ(q.size(), 4u) << "the VF given to a domain is not listed";
    EXPECT_EQ(q[0].id, "0000:3b:00.4") << "in address order";
    EXPECT_TRUE(q[0].healthy) << "a warning is still usable";
    EXPECT_TRUE(q[1].healthy);
    EXPECT_FALSE(q[2].healthy) << "quarantined";
    EXPECT_FALSE(q[3].healthy) << "waiting for a scrub";
    const auto& e = r.at("aismi.io/eighth");
    ASSERT_EQ(e.size(), 2u);
    EXPECT_FALSE(e[0].healthy) << "critical";
    EXPECT_FALSE(e[1].healthy) << "lost";
}

TEST(DevicePluginModel, NamesFollowKubeletAndKubeVirt) {
    EXPECT_EQ(pciResourceEnv("aismi.io/quarter"), "PCI_RESOURCE_AISMI_IO_QUARTER");
    EXPECT_EQ(pciResourceEnv("example.com/big-one"), "PCI_RESOURCE_EXAMPLE_COM_BIG_ONE");
    EXPECT_EQ(socketNameOf("aismi.io/quarter"), "aismi-quarter.sock");
    EXPECT_EQ(socketNameOf("aismi.io/a b"), "aismi-a_b.sock");
    for (const char* good : {"aismi.io", "example.com", "a", "a-b.c1"}) EXPECT_TRUE(validResourcePrefix(good)) << good;
    for (const std::string& bad : {std::string(), std::string("Aismi.io"), std::string("-a.io"), std::string("a-.io"), std::string("a..io"),
                                  std::string(".a"), std::string("a."), std::string("a_b.io"), std::string("a/b"), std::string(64, 'a')})
        EXPECT_FALSE(validResourcePrefix(bad)) << bad;
}

TEST(DevicePluginModel, PrefersOneCardThenOneNumaNode) {
    std::map<std::string, PluginDevice> known;
    const auto add = [&](const std::string& id, unsigned card, int numa) { known[id] = PluginDevice{id, true, card, numa, 1}; };
    add("a0", 0, 0);
    add("a1", 0, 0);
    add("b0", 1, 0);
    add("b1", 1, 0);
    add("b2", 1, 0);
    add("c0", 2, 1);
    // Nothing required: the card with the most free devices, so the request stays on one card.
    EXPECT_EQ(preferredAllocation({"a0", "a1", "b0", "b1", "b2", "c0"}, {}, 3, known), (std::vector<std::string>{"b0", "b1", "b2"}));
    // One required on card 0: its sibling next, then the same NUMA node before another node.
    EXPECT_EQ(preferredAllocation({"a0", "a1", "b0", "c0"}, {"a1"}, 3, known), (std::vector<std::string>{"a1", "a0", "b0"}));
    EXPECT_EQ(preferredAllocation({"c0", "a0"}, {"c0"}, 2, known), (std::vector<std::string>{"c0", "a0"})) << "another node when nothing else is left";
    EXPECT_EQ(preferredAllocation({"a0"}, {}, 0, known).size(), 0u);
    EXPECT_EQ(preferredAllocation({"x", "a0"}, {}, 5, known), (std::vector<std::string>{"a0", "x"})) << "unknown devices last, never more than offered";
}

TEST(DevicePluginModel, ReleasesAHeldVfOnlyOnceTwoListsInARowMissedIt) {
    UnusedHolds holds;  // two Lists
    EXPECT_TRUE(holds.observe({"a", "b"}, {"a"}).empty()) << "one List may miss a pod that is starting";
    EXPECT_TRUE(holds.observe({"a", "b"}, {"a", "b"}).empty()) << "b's pod showed up: it starts counting afresh";
    EXPECT_TRUE(holds.observe({"a", "b"}, {"a"}).empty());
    EXPECT_EQ(holds.observe({"a", "b"}, {"a"}), (std::vector<std::string>{"b"}));
    EXPECT_TRUE(holds.observe({"a"}, {}).empty()) << "released b is no longer held; a missed once";
    EXPECT_EQ(holds.observe({"a"}, {}), (std::vector<std::string>{"a"}));
    EXPECT_TRUE(holds.observe({}, {"x"}).empty()) << "devices in use that nobody holds are not ours to act on";
    UnusedHolds once(1);
    EXPECT_EQ(once.observe({"a"}, {}), (std::vector<std::string>{"a"}));
}
