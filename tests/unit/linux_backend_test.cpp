// libmgmt's Linux code path against a fake sysfs tree laid out exactly as the kernel does.
#include <aismi/card.hpp>
#include <aismi/fs.hpp>

#include "fake_sysfs.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

using namespace aismi;
using aismi::test::FakeSysfs;
using aismi::test::TempDir;

namespace {

class LinuxBackend : public ::testing::Test {
protected:
    void SetUp() override {
        // Our card with the vendor driver, an Intel NIC with SR-IOV (generic mode), and an
        // unrelated device that must be ignored.
        tree.addFunction("0000:3b:00.0", 0xa15e, 0x0100);
        tree.addSriov("0000:3b:00.0", 16, 2, 0x0101);
        tree.bindDriver("0000:3b:00.0", "aismi");
        tree.write(tree.devicePath("0000:3b:00.0") + "/aismi/abi_version", "1\n");
        tree.write(tree.devicePath("0000:3b:00.0") + "/aismi/name", "AIS-1\n");
        tree.write(tree.devicePath("0000:3b:00.0") + "/aismi/serial", "AIS1234\n");
        tree.addFunction("0000:5e:00.0", 0x8086, 0x1572, 0x020000);
        tree.addSriov("0000:5e:00.0", 64, 0, 0x154c);
        tree.bindDriver("0000:5e:00.0", "i40e");
        tree.addFunction("0000:00:1f.0", 0x8086, 0xa1c1, 0x060100);
        fs = makeHostFs(tmp.path());
    }

    Card card(std::vector<DeviceMatch> matches, unsigned index = 0) {
        auto cards = discoverCards(*fs, matches);
        EXPECT_TRUE(cards.ok()) << cards.error().message;
        return cards->at(index);
    }

    const std::string nic = "devices/pci0000:00/0000:5e:00.0/";
    TempDir tmp;
    FakeSysfs tree{tmp.path()};
    std::unique_ptr<Fs> fs;
};

const DeviceMatch kOurs{0xa15e, 0x0100}, kNic{0x8086, 0x1572};

}  // namespace

TEST_F(LinuxBackend, DiscoversOnlyMatchingPhysicalFunctions) {
    const DeviceMatch withVfId[] = {kOurs, {0xa15e, 0x0101}};
    auto cards = discoverCards(*fs, withVfId);
    ASSERT_TRUE(cards.ok()) << cards.error().message;
    ASSERT_EQ(cards->size(), 1u) << "VFs match too but are never cards";
    EXPECT_EQ((*cards)[0].address().str(), "0000:3b:00.0");
    EXPECT_TRUE((*cards)[0].hasVendorAbi());
    const DeviceMatch both[] = {kNic, kOurs};
    cards = discoverCards(*fs, both);
    ASSERT_EQ(cards->size(), 2u);
    EXPECT_EQ((*cards)[1].index(), 1u) << "numbered in address order";
    EXPECT_EQ((*cards)[1].address().str(), "0000:5e:00.0");
}

TEST_F(LinuxBackend, ManagesAnUnknownSriovDeviceInGenericMode) {
    Card c = card({kNic});
    EXPECT_FALSE(c.hasVendorAbi());
    auto id = c.identity();
    ASSERT_TRUE(id.ok()) << id.error().message;
    EXPECT_EQ(id->name, "PCI device 8086:1572");
    auto s = c.sriov();
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(s->totalVfs, 64u);
    EXPECT_EQ(s->vfDevice, 0x154c);
    for (auto r : {c.capacity().ok(), c.firmware().ok(), c.vfStatus(0).ok()}) EXPECT_FALSE(r);
    EXPECT_EQ(c.capacity().error().code, Errc::NotSupported);
    EXPECT_NE(c.capacity().error().message.find("generic mode"), std::string::npos);
    auto t = c.telemetry();
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_FALSE(t->temperatureC.has_value());
    EXPECT_FALSE(t->utilizationPct.has_value());
    EXPECT_EQ(c.pf().driver().valueOr("?"), "i40e");
}

TEST_F(LinuxBackend, FindsVfsThroughTheirVirtfnLinks) {
    Card c = card({kOurs});
    auto vfs = c.vfAddresses();
    ASSERT_TRUE(vfs.ok()) << vfs.error().message;
    ASSERT_EQ(vfs->size(), 2u);
    EXPECT_EQ((*vfs)[1].str(), "0000:3b:00.5");
    EXPECT_EQ(c.vfIndexOf(PciAddress::parse("0000:3b:00.5").value()), 1u);
    EXPECT_EQ(c.vfAddress(2).error().code, Errc::NotFound);
}

TEST_F(LinuxBackend, AppliesTheKernelsVfCountRulesBeforeWriting) {
    Card c = card({kOurs});
    auto r = c.setVfCount(3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::InvalidState);
    EXPECT_NE(r.error().message.find("disable VFs first"), std::string::npos);
    EXPECT_EQ(c.setVfCount(17).error().code, Errc::OutOfRange);
    EXPECT_EQ(tree.read(tree.devicePath("0000:3b:00.0") + "/sriov_numvfs"), "2\n") << "nothing was written";
    EXPECT_TRUE(c.setVfCount(2).ok()) << "the current count is a no-op";
}

TEST_F(LinuxBackend, ReportsADeviceThatDidNotCreateItsVfs) {
    Card c = card({kNic});
    auto r = c.setVfCount(4);  // the fake tree does not react to the write, as a broken driver
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::VerifyFailed);
    EXPECT_NE(r.error().message.find("virtfn0 did not appear"), std::string::npos) << r.error().message;
}

TEST_F(LinuxBackend, ResetsAVfThroughItsResetAttribute) {
    Card c = card({kOurs});
    ASSERT_TRUE(c.resetVf(1).ok());
    EXPECT_EQ(tree.read(tree.devicePath("0000:3b:00.5") + "/reset"), "1");
    EXPECT_EQ(tree.read(tree.devicePath("0000:3b:00.4") + "/reset"), "") << "only that VF";
}

namespace {

// Passes everything through and remembers the writes, in order.
class RecordingFs final : public Fs {
public:
    explicit RecordingFs(Fs& inner) : inner_(inner) {}
    Result<std::string> read(std::string_view p) const override { return inner_.read(p); }
    Result<void> write(std::string_view p, std::string_view d) override {
        writes.emplace_back(std::string(p), std::string(d));
        return inner_.write(p, d);
    }
    Result<std::vector<std::string>> list(std::string_view p) const override { return inner_.list(p); }
    Result<std::string> readLink(std::string_view p) const override { return inner_.readLink(p); }
    bool exists(std::string_view p) const override { return inner_.exists(p); }
    std::string describe() const override { return inner_.describe(); }
    std::vector<std::pair<std::string, std::string>> writes;

private:
    Fs& inner_;
};

}  // namespace

TEST_F(LinuxBackend, NarrowsResetMethodsToTheFunctionForTheReset) {
    tree.write(tree.devicePath("0000:3b:00.4") + "/reset_method", "flr bus\n");
    RecordingFs recorder(*fs);
    const DeviceMatch matches[] = {kOurs};
    auto cards = discoverCards(recorder, matches);
    ASSERT_TRUE(cards.ok());
    ASSERT_TRUE((*cards)[0].resetVf(0).ok());
    const std::string vf = "bus/pci/devices/0000:3b:00.4/";
    const std::vector<std::pair<std::string, std::string>> expected{
        {vf + "reset_method", "flr"}, {vf + "reset", "1"}, {vf + "reset_method", "flr bus"}};
    EXPECT_EQ(recorder.writes, expected);
}

TEST_F(LinuxBackend, RefusesAResetThatWouldReachBeyondTheFunction) {
    tree.write(tree.devicePath("0000:3b:00.4") + "/reset_method", "bus\n");
    Card c = card({kOurs});
    auto r = c.resetVf(0);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::NotSupported);
    EXPECT_EQ(tree.read(tree.devicePath("0000:3b:00.4") + "/reset"), "") << "reset was not written";
}

TEST_F(LinuxBackend, NamesTheFileWhenSysfsContentsAreMalformed) {
    tree.write(nic + "sriov_totalvfs", "lots\n");
    auto s = card({kNic}).sriov();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::MalformedData);
    EXPECT_NE(s.error().message.find("sriov_totalvfs: 'lots' is not an unsigned number"), std::string::npos) << s.error().message;

    tree.write(nic + "sriov_totalvfs", "2\n");
    tree.write(nic + "sriov_numvfs", "5\n");
    EXPECT_EQ(card({kNic}).sriov().error().code, Errc::MalformedData);

    tree.write(nic + "sriov_numvfs", "0\n");
    tree.write(nic + "sriov_vf_device", "zz\n");
    EXPECT_EQ(card({kNic}).sriov().error().code, Errc::MalformedData);
}

TEST_F(LinuxBackend, NamesTheFileWhenAnAttributeIsMissing) {
    tree.remove(nic + "sriov_offset");
    auto s = card({kNic}).sriov();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::NotFound);
    EXPECT_NE(s.error().message.find("sriov_offset"), std::string::npos);
}

TEST_F(LinuxBackend, FailsDiscoveryClearlyOnAGarbledId) {
    // Every function's device ID is read; the vendor ID only where the device ID matches.
    tree.write("devices/pci0000:00/0000:00:1f.0/device", "0xa1c11\n");
    auto cards = discoverCards(*fs, std::vector<DeviceMatch>{kOurs});
    ASSERT_FALSE(cards.ok());
    EXPECT_EQ(cards.error().code, Errc::MalformedData);
    EXPECT_NE(cards.error().message.find("0000:00:1f.0/device"), std::string::npos) << cards.error().message;
    tree.write("devices/pci0000:00/0000:00:1f.0/device", "0xa1c1\n");
    tree.write(tree.devicePath("0000:3b:00.0") + "/vendor", "0xa15e1\n");
    cards = discoverCards(*fs, std::vector<DeviceMatch>{kOurs});
    ASSERT_FALSE(cards.ok());
    EXPECT_EQ(cards.error().code, Errc::MalformedData);
    EXPECT_NE(cards.error().message.find("0000:3b:00.0/vendor"), std::string::npos) << cards.error().message;
}

TEST_F(LinuxBackend, ReadsHwmonLinkAndAerTelemetry) {
    const std::string pf = tree.devicePath("0000:3b:00.0") + "/";
    tree.write(pf + "hwmon/hwmon3/temp1_input", "61500\n");
    tree.write(pf + "hwmon/hwmon3/power1_input", "123000000\n");
    tree.write(pf + "current_link_speed", "16.0 GT/s PCIe\n");
    tree.write(pf + "max_link_speed", "16.0 GT/s PCIe\n");
    tree.write(pf + "current_link_width", "8\n");
    tree.write(pf + "max_link_width", "16\n");
    tree.write(pf + "aer_dev_correctable", "RxErr 1\nTOTAL_ERR_COR 3\n");
    tree.write(pf + "aer_dev_nonfatal", "TOTAL_ERR_NONFATAL 0\n");
    tree.write(pf + "aer_dev_fatal", "TOTAL_ERR_FATAL 0\n");
    tree.write(pf + "aismi/telemetry", "utilization_pct 12\nmemory_used_mib 1\nmemory_total_mib 2\necc_corrected 0\necc_uncorrected 0\n");
    auto t = card({kOurs}).telemetry();
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_DOUBLE_EQ(*t->temperatureC, 61.5);
    EXPECT_DOUBLE_EQ(*t->powerW, 123.0);
    ASSERT_TRUE(t->link.has_value());
    EXPECT_TRUE(t->link->degraded());
    EXPECT_EQ(t->aer->correctable, 3u);
    EXPECT_EQ(*t->utilizationPct, 12u);

    tree.write(pf + "aer_dev_fatal", "DLP 0\n");
    EXPECT_EQ(card({kOurs}).telemetry().error().code, Errc::MalformedData);
    tree.write(pf + "aer_dev_fatal", "TOTAL_ERR_FATAL 0\n");
    tree.write(pf + "aismi/telemetry", "utilization_pct 140\nmemory_used_mib 1\nmemory_total_mib 2\necc_corrected 0\necc_uncorrected 0\n");
    EXPECT_EQ(card({kOurs}).telemetry().error().code, Errc::MalformedData);
}

TEST_F(LinuxBackend, ReportsAMatchedDeviceWithoutSriovAsNotSupported) {
    const DeviceMatch bridge[] = {{0x8086, 0xa1c1}};
    auto cards = discoverCards(*fs, bridge);
    ASSERT_TRUE(cards.ok());
    auto s = cards->at(0).sriov();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code, Errc::NotSupported);
    EXPECT_NE(s.error().message.find("no SR-IOV capability"), std::string::npos);
    EXPECT_EQ(cards->at(0).setVfCount(1).error().code, Errc::NotSupported);
}

TEST_F(LinuxBackend, RejectsPathsThatLeaveTheRoot) {
    EXPECT_EQ(fs->read("../etc/passwd").error().code, Errc::InvalidArgument);
    EXPECT_EQ(fs->read("/etc/passwd").error().code, Errc::InvalidArgument);
}

TEST(DeviceMatch, ParsesVendorColonDevice) {
    EXPECT_EQ(DeviceMatch::parse("a15e:0100").value(), (DeviceMatch{0xa15e, 0x0100}));
    for (const char* bad : {"a15e", "a15e:100", "a15e:01000", "xyzw:0100", "a15e-0100"})
        EXPECT_EQ(DeviceMatch::parse(bad).error().code, Errc::InvalidArgument) << bad;
}

TEST_F(LinuxBackend, ReadsEveryVfsStatusAndResourcesInOneFile) {
    const std::string vfs = tree.devicePath("0000:3b:00.0") + "/aismi/vfs";
    const std::string line0 = "0 state running progress 12 utilization_pct 100 memory_used_mib 3 ecc_corrected 0 ecc_uncorrected 0 "
                              "reset_count 1 compute_units 8 memory_mib 1008 engines 1\n";
    const std::string line1 = "1 state idle progress 0 utilization_pct 0 memory_used_mib 0 ecc_corrected 2 ecc_uncorrected 0 "
                              "reset_count 0 compute_units 8 memory_mib 1008 engines 0 burst_units 32 weight 4 compute_share 12.5 throttled 1\n";
    tree.write(vfs, line0 + line1);
    auto reports = card({kOurs}).vfReports();
    ASSERT_TRUE(reports.ok()) << reports.error().message;
    ASSERT_EQ(reports->size(), 2u);
    EXPECT_EQ((*reports)[0].status.state, VfState::Running);
    EXPECT_EQ((*reports)[0].status.progress, 12u);
    EXPECT_EQ((*reports)[0].resources, (Resources{8, 1008, 1}));
    EXPECT_EQ((*reports)[1].status.eccCorrected, 2u);
    EXPECT_EQ((*reports)[0].resources.burstCap(), 8u) << "no burst cap given: the guarantee";
    EXPECT_FALSE((*reports)[0].status.throttled);
    EXPECT_EQ((*reports)[1].resources, (Resources{8, 1008, 0, 32, 4}));
    EXPECT_DOUBLE_EQ((*reports)[1].status.computeShare, 12.5);
    EXPECT_TRUE((*reports)[1].status.throttled);
    // Malformed content is refused, naming the file and what is wrong.
    const std::pair<std::string, std::string> bad[] = {
        {line1, "where VF 0 was expected"},
        {"0 state idle progress\n", "expected 'VF key value ...'"},
        {"x " + line0.substr(2), "is not a VF index"},
        {"0 state sleeping" + line0.substr(line0.find(" progress")), "unknown state 'sleeping'"},
        {"0 state idle state idle" + line0.substr(line0.find(" progress")), "state given twice"},
        {line0.substr(0, line0.find(" engines")) + "\n", "engines"},
        {line0.substr(0, line0.size() - 1) + " throttled 2\n", "throttled must be 0 or 1"},
        {line0.substr(0, line0.size() - 1) + " compute_share nan\n", "compute_share 'nan'"},
        {line0.substr(0, line0.size() - 1) + " compute_share -1\n", "compute_share '-1'"},
        {line0.substr(0, line0.size() - 1) + " weight 99999999999\n", "out of range"},
    };
    for (const auto& [content, why] : bad) {
        tree.write(vfs, content);
        auto r = card({kOurs}).vfReports();
        ASSERT_FALSE(r.ok()) << content;
        EXPECT_EQ(r.error().code, Errc::MalformedData) << content;
        EXPECT_NE(r.error().message.find("aismi/vfs"), std::string::npos) << r.error().message;
        EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
    }
    EXPECT_EQ(card({kNic}).vfReports().error().code, Errc::NotSupported) << "generic mode";
}

TEST_F(LinuxBackend, PlacesVfsByTheirRoutingIdAsTheKernelDoes) {
    auto sr = card({kOurs}).sriov();
    ASSERT_TRUE(sr.ok());
    for (unsigned k = 0; k < sr->numVfs; ++k)
        EXPECT_EQ(sr->vfAddress(card({kOurs}).address(), k)->str(), card({kOurs}).vfAddress(k)->str()) << "VF " << k;
}
