#include <aismi/config_space.hpp>

#include "sim/config_space_builder.hpp"

#include <gtest/gtest.h>

using namespace aismi;

namespace {

std::string simulatedConfig(unsigned numVfs, int fn = -1, bool lost = false) {
    static sim::SimConfig config;
    config.totalVfs = 16;
    sim::SimCard card = sim::SimCard::fresh(config, 0);
    card.vfs.resize(numVfs);
    card.deviceLost = lost;
    return sim::buildConfigSpace(sim::SimCardView(config, card), fn);
}

}  // namespace

TEST(ConfigSpace, ReadsIdentityPcieAndSriovCapabilities) {
    auto cs = parseConfigSpace(simulatedConfig(3));
    ASSERT_TRUE(cs.ok()) << cs.error().message;
    EXPECT_EQ(cs->vendorId, 0xa15e);
    EXPECT_EQ(cs->classCode, 0x120000u);
    ASSERT_TRUE(cs->pcie.has_value());
    EXPECT_TRUE(cs->pcie->flrSupported);
    EXPECT_EQ(cs->pcie->linkWidth, 16);
    EXPECT_EQ(linkSpeedName(cs->pcie->linkSpeed), "16.0 GT/s");
    ASSERT_TRUE(cs->sriov.has_value());
    EXPECT_EQ(cs->sriov->totalVfs, 16);
    EXPECT_EQ(cs->sriov->numVfs, 3);
    EXPECT_TRUE(cs->sriov->vfEnable);
    EXPECT_EQ(cs->sriov->firstVfOffset, 4);
    EXPECT_EQ(cs->sriov->vfStride, 1);
    EXPECT_EQ(cs->sriov->vfDeviceId, 0x0101);
    ASSERT_TRUE(cs->serialNumber.has_value());
}

TEST(ConfigSpace, AcceptsAVfHeaderWhoseIdsReadAllOnes) {
    auto cs = parseConfigSpace(simulatedConfig(3, 0));
    ASSERT_TRUE(cs.ok()) << cs.error().message;
    EXPECT_EQ(cs->vendorId, 0xffff);
    EXPECT_EQ(cs->classCode, 0x120000u);
    EXPECT_FALSE(cs->sriov.has_value());
}

TEST(ConfigSpace, ReportsALostDeviceWhenEverythingReadsAllOnes) {
    auto cs = parseConfigSpace(simulatedConfig(0, -1, true));
    ASSERT_FALSE(cs.ok());
    EXPECT_EQ(cs.error().code, Errc::DeviceLost);
}

TEST(ConfigSpace, RejectsATruncatedHeader) {
    auto cs = parseConfigSpace(simulatedConfig(0).substr(0, 40));
    ASSERT_FALSE(cs.ok());
    EXPECT_EQ(cs.error().code, Errc::MalformedData);
    EXPECT_NE(cs.error().message.find("40 bytes"), std::string::npos);
}

TEST(ConfigSpace, ParsesTheFirst64BytesAnUnprivilegedReaderGets) {
    auto cs = parseConfigSpace(simulatedConfig(2).substr(0, 64));
    ASSERT_TRUE(cs.ok()) << cs.error().message;
    EXPECT_EQ(cs->vendorId, 0xa15e);
    EXPECT_FALSE(cs->pcie.has_value());
    EXPECT_FALSE(cs->sriov.has_value());
}

TEST(ConfigSpace, DetectsALoopingCapabilityList) {
    std::string b = simulatedConfig(0);
    b[0x51] = 0x40;  // PCIe capability points back at the PM capability
    auto cs = parseConfigSpace(b);
    ASSERT_FALSE(cs.ok());
    EXPECT_EQ(cs.error().code, Errc::MalformedData);
    EXPECT_NE(cs.error().message.find("loops"), std::string::npos);
}

TEST(ConfigSpace, DetectsALoopingExtendedCapabilityList) {
    std::string b = simulatedConfig(0);
    // DSN capability at 0x140 points back to 0x100.
    b[0x142] = static_cast<char>(0x01), b[0x143] = 0x10;
    auto cs = parseConfigSpace(b);
    ASSERT_FALSE(cs.ok());
    EXPECT_NE(cs.error().message.find("loops"), std::string::npos);
}

TEST(ConfigSpace, RejectsATruncatedSriovCapability) {
    auto cs = parseConfigSpace(simulatedConfig(0).substr(0, 0x110));
    ASSERT_FALSE(cs.ok());
    EXPECT_EQ(cs.error().code, Errc::MalformedData);
    EXPECT_NE(cs.error().message.find("SR-IOV"), std::string::npos);
}
