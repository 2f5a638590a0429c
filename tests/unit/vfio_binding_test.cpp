#include "vfio_binding.hpp"

#include <aismi/pci_function.hpp>

#include "fake_sysfs.hpp"
#include "sim_fixture.hpp"

using namespace aismi;

using VfioOnSim = aismi::test::SimFixture;

TEST_F(VfioOnSim, HandsAVfToVfioAndBackToTheHostDriver) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    const auto vf = PciAddress::parse("0000:3b:00.5").value();
    auto group = vfio::bindToVfio(*fs, vf);
    ASSERT_TRUE(group.ok()) << group.error().message;
    PciFunction fn(*fs, vf);
    EXPECT_EQ(fn.driver().valueOr(""), "vfio-pci");
    EXPECT_EQ(fn.iommuGroup().valueOr(0), *group);
    EXPECT_EQ(PciFunction(*fs, PciAddress::parse("0000:3b:00.4").value()).driver().valueOr(""), "aismi") << "neighbour untouched";
    ASSERT_TRUE(vfio::returnToHost(*fs, vf, "aismi").ok());
    EXPECT_EQ(fn.driver().valueOr(""), "aismi");
    EXPECT_EQ(fs->read("bus/pci/devices/0000:3b:00.5/driver_override").valueOr(""), "(null)\n") << "no override left behind";
}

TEST_F(VfioOnSim, RefusesAFunctionThatDoesNotExist) {
    auto r = vfio::bindToVfio(*fs, PciAddress::parse("0000:3b:00.4").value());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::NotFound);
}

TEST(VfioGroups, RefuseAGroupSharedWithAnotherDriver) {
    aismi::test::TempDir tmp;
    aismi::test::FakeSysfs tree(tmp.path());
    tree.addFunction("0000:3b:00.0", 0xa15e, 0x0100);
    tree.addFunction("0000:3b:00.1", 0x8086, 0x1572);
    tree.bindDriver("0000:3b:00.0", "aismi");
    tree.bindDriver("0000:3b:00.1", "i40e");
    tree.setIommuGroup("0000:3b:00.0", 7);
    tree.setIommuGroup("0000:3b:00.1", 7);
    auto fs = makeHostFs(tmp.path());
    auto r = vfio::bindToVfio(*fs, PciAddress::parse("0000:3b:00.0").value());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::InvalidState);
    EXPECT_NE(r.error().message.find("0000:3b:00.1 (i40e)"), std::string::npos) << r.error().message;
    EXPECT_EQ(tree.read(tree.devicePath("0000:3b:00.0") + "/driver_override"), "(null)\n") << "nothing was changed";
}

TEST(VfioGroups, ExplainAMissingIommu) {
    aismi::test::TempDir tmp;
    aismi::test::FakeSysfs tree(tmp.path());
    tree.addFunction("0000:3b:00.0", 0xa15e, 0x0100);
    auto fs = makeHostFs(tmp.path());
    auto r = vfio::bindToVfio(*fs, PciAddress::parse("0000:3b:00.0").value());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("IOMMU"), std::string::npos);
}

TEST(VfioGroups, AGroupIsViableWithPciStubUnboundMembersAndBridges) {
    aismi::test::TempDir tmp;
    aismi::test::FakeSysfs tree(tmp.path());
    tree.addFunction("0000:3b:00.4", 0xa15e, 0x0101);
    tree.addFunction("0000:3b:00.5", 0xa15e, 0x0101);
    tree.addFunction("0000:3b:00.6", 0xa15e, 0x0101);
    tree.addFunction("0000:00:01.0", 0x8086, 0x1901, 0x060400);  // a PCIe root port
    tree.bindDriver("0000:3b:00.4", "aismi");
    tree.bindDriver("0000:3b:00.5", "pci-stub");
    tree.bindDriver("0000:00:01.0", "pcieport");
    for (const char* a : {"0000:3b:00.4", "0000:3b:00.5", "0000:3b:00.6", "0000:00:01.0"}) tree.setIommuGroup(a, 9);
    auto fs = makeHostFs(tmp.path());
    auto blockers = vfio::groupBlockers(*fs, PciAddress::parse("0000:3b:00.4").value());
    ASSERT_TRUE(blockers.ok()) << blockers.error().message;
    EXPECT_TRUE(blockers->empty()) << "pci-stub, an unbound function and a bridge keep a group viable";
    tree.bindDriver("0000:3b:00.6", "aismi");
    blockers = vfio::groupBlockers(*fs, PciAddress::parse("0000:3b:00.4").value());
    ASSERT_TRUE(blockers.ok());
    ASSERT_EQ(blockers->size(), 1u);
    EXPECT_EQ(blockers->front().address.str(), "0000:3b:00.6");
}
