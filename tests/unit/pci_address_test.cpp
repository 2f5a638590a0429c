#include <aismi/pci_address.hpp>

#include <gtest/gtest.h>

using namespace aismi;

TEST(PciAddress, ParsesTheKernelSpelling) {
    auto a = PciAddress::parse("0000:3b:00.4");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->bus(), 0x3b);
    EXPECT_EQ(a->device(), 0);
    EXPECT_EQ(a->function(), 4);
    EXPECT_EQ(a->str(), "0000:3b:00.4");
    EXPECT_EQ(PciAddress::parse("0001:AF:1F.7")->str(), "0001:af:1f.7");
}

TEST(PciAddress, RejectsMalformedAddressesWithAnExample) {
    for (const char* bad : {"", "3b:00.4", "0000:3b:00", "0000:3b:20.0", "0000:3b:00.8", "0000:3g:00.0", "0000:3b:00.4 ",
                            "00000:3b:00.4", "0000-3b-00.4"}) {
        auto a = PciAddress::parse(bad);
        ASSERT_FALSE(a.ok()) << bad;
        EXPECT_EQ(a.error().code, Errc::InvalidArgument);
        EXPECT_NE(a.error().message.find("0000:3b:00.4"), std::string::npos) << "the message shows the expected form";
    }
}

TEST(PciAddress, AddsRoutingIdsAcrossDevicesAndBuses) {
    const auto pf = PciAddress::parse("0000:3b:00.0").value();
    EXPECT_EQ(pf.plusRid(4)->str(), "0000:3b:00.4");
    EXPECT_EQ(pf.plusRid(8)->str(), "0000:3b:01.0");
    EXPECT_EQ(pf.plusRid(4 + 255)->str(), "0000:3c:00.3");  // VFs may occupy the next bus
    EXPECT_FALSE(PciAddress::parse("0000:ff:1f.7")->plusRid(1).ok());
}

TEST(PciAddress, OrdersByDomainBusDeviceFunction) {
    EXPECT_LT(PciAddress::parse("0000:3b:00.7").value(), PciAddress::parse("0000:3b:01.0").value());
    EXPECT_LT(PciAddress::parse("0000:ff:00.0").value(), PciAddress::parse("0001:00:00.0").value());
}
