// The simulated card's hardware and kernel behaviour, observed through sysfs as libmgmt sees it.
#include "sim_fixture.hpp"

#include <aismi/text.hpp>

#include <cerrno>
#include <fstream>
#include <atomic>
#include <iterator>
#include <thread>
#include <sys/stat.h>
#include <unistd.h>

using namespace aismi;
using aismi::test::SimFixture;

namespace {

std::string field(const std::string& kvText, const std::string& key) {
    auto kv = text::parseKeyValues(kvText, "test");
    return kv.ok() && kv->count(key) ? kv->at(key) : "<missing " + key + ">";
}

uint64_t number(const std::string& kvText, const std::string& key) { return std::stoull(field(kvText, key)); }

}  // namespace

using SimulatedCard = SimFixture;

TEST_F(SimulatedCard, EnablesVfsOnlyFromZeroLikeTheKernel) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "4").ok());
    auto again = fs->write(std::string(kPf) + "sriov_numvfs", "2");
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().sysErrno, EBUSY);
    EXPECT_EQ(again.error().code, Errc::Busy);
    EXPECT_EQ(read(std::string(kPf) + "sriov_numvfs"), "4\n");
    EXPECT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "4").ok()) << "the same count is a no-op";
    EXPECT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "0").ok());
    EXPECT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
}

TEST_F(SimulatedCard, RejectsVfCountsAboveTotalVfsAndGarbage) {
    EXPECT_EQ(fs->write(std::string(kPf) + "sriov_numvfs", "9").error().sysErrno, ERANGE);
    EXPECT_EQ(fs->write(std::string(kPf) + "sriov_numvfs", "70000").error().sysErrno, ERANGE);
    for (const char* bad : {"abc", "-1", "", "3x"}) EXPECT_EQ(fs->write(std::string(kPf) + "sriov_numvfs", bad).error().sysErrno, EINVAL) << bad;
    EXPECT_EQ(read(std::string(kPf) + "sriov_numvfs"), "0\n");
}

TEST_F(SimulatedCard, RefusesSriovWithoutAPfDriver) {
    ASSERT_TRUE(fs->write("bus/pci/drivers/aismi/unbind", "0000:3b:00.0").ok());
    EXPECT_FALSE(fs->exists(std::string(kPf) + "aismi")) << "the vendor directory belongs to the driver";
    EXPECT_EQ(fs->write(std::string(kPf) + "sriov_numvfs", "2").error().sysErrno, ENOENT);
}

TEST_F(SimulatedCard, UnbindingThePfDriverTakesItsVfsAway) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "3").ok());
    ASSERT_TRUE(fs->write("bus/pci/drivers/aismi/unbind", "0000:3b:00.0").ok());
    EXPECT_EQ(read(std::string(kPf) + "sriov_numvfs"), "0\n");
}

TEST_F(SimulatedCard, CreatesAndRemovesVfsWithTheirLinks) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "3").ok());
    for (int k = 0; k < 3; ++k) EXPECT_TRUE(fs->exists(std::string(kPf) + "virtfn" + std::to_string(k)));
    EXPECT_FALSE(fs->exists(std::string(kPf) + "virtfn3"));
    EXPECT_EQ(fs->readLink(std::string(kPf) + "virtfn2").valueOr(""), "../0000:3b:00.6");
    EXPECT_EQ(fs->readLink("bus/pci/devices/0000:3b:00.6/physfn").valueOr(""), "../0000:3b:00.0");
    EXPECT_EQ(fs->list("bus/pci/devices")->size(), 2u + 3u);
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "0").ok());
    EXPECT_FALSE(fs->exists(std::string(kPf) + "virtfn0"));
    EXPECT_FALSE(fs->exists("bus/pci/devices/0000:3b:00.4"));
}

TEST_F(SimulatedCard, PlacesVfsWhereOffsetAndStrideSay) {
    build([] {
        auto c = defaultConfig();
        c.totalVfs = 256;
        c.capacity.computeUnits = 256;
        return c;
    }());
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "256").ok());
    auto cs = parseConfigSpace(read(std::string(kPf) + "config"));
    ASSERT_TRUE(cs.ok());
    ASSERT_TRUE(cs->sriov.has_value());
    EXPECT_EQ(cs->sriov->numVfs, 256);
    const auto pf = PciAddress::parse("0000:3b:00.0").value();
    for (unsigned k = 0; k < 256; k += 17) {
        auto link = fs->readLink(std::string(kPf) + "virtfn" + std::to_string(k));
        ASSERT_TRUE(link.ok());
        EXPECT_EQ(*link, "../" + pf.plusRid(cs->sriov->firstVfOffset + k * cs->sriov->vfStride)->str()) << "VF " << k;
    }
    EXPECT_TRUE(fs->exists("bus/pci/devices/0000:3c:00.3")) << "VF 255 spills onto the next bus";
}

TEST_F(SimulatedCard, ResetOfOneVfLeavesItsNeighboursUntouched) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "4").ok());
    for (unsigned k = 0; k < 4; ++k) load(0, k);
    inject(0, 2, sim::Fault::EccCorrectable);
    clock.advanceMs(50);
    std::vector<std::string> before;
    for (unsigned k = 0; k < 4; ++k) before.push_back(read(vfStatus(k)));
    const std::string resourcesBefore = read(std::string(kPf) + "aismi/vf1/resources");
    clock.sleeps.clear();  // enabling the VFs blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)

    ASSERT_TRUE(fs->write("bus/pci/devices/0000:3b:00.5/reset", "1").ok());  // VF 1

    ASSERT_EQ(clock.sleeps.size(), 1u);
    EXPECT_EQ(clock.sleeps[0], 100'000'000) << "an FLR takes 100 ms at time factor 1";
    const std::string reset = read(vfStatus(1));
    EXPECT_EQ(number(reset, "progress"), 0u);
    EXPECT_EQ(number(reset, "reset_count"), 1u);
    EXPECT_EQ(field(reset, "state"), "idle") << "the FLR has completed and the workload is gone";
    EXPECT_EQ(read(std::string(kPf) + "aismi/vf1/resources"), resourcesBefore) << "provisioning is held by the PF";
    for (unsigned k : {0u, 2u, 3u}) {
        const std::string after = read(vfStatus(k));
        EXPECT_EQ(field(after, "state"), "running") << "VF " << k;
        EXPECT_EQ(number(after, "progress"), number(before[k], "progress") + 100) << "VF " << k << " kept working through the FLR";
        EXPECT_EQ(number(after, "reset_count"), 0u);
        EXPECT_EQ(number(after, "ecc_corrected"), number(before[k], "ecc_corrected"));
    }
}

TEST_F(SimulatedCard, APfResetResetsTheWholeCardAndKeepsItsVfsEnabled) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    ASSERT_TRUE(fs->write(std::string(kPf) + "aismi/vf1/resources", "compute_units 8\nmemory_mib 1024\nengines 1\n").ok());
    for (unsigned k = 0; k < 2; ++k) load(0, k);
    clock.advanceMs(50);
    clock.sleeps.clear();
    ASSERT_TRUE(fs->write(std::string(kPf) + "reset", "1").ok());
    EXPECT_EQ(clock.sleeps.size(), 1u);
    EXPECT_EQ(read(std::string(kPf) + "sriov_numvfs"), "2\n") << "the kernel restores VF Enable";
    for (unsigned k = 0; k < 2; ++k) {
        const std::string after = read(vfStatus(k));
        EXPECT_EQ(field(after, "state"), "idle") << "VF " << k << ": its workload went with the reset";
        EXPECT_EQ(number(after, "reset_count"), 1u);
    }
    EXPECT_NE(read(std::string(kPf) + "aismi/vf1/resources").find("compute_units 64"), std::string::npos)
        << "the provisioning is gone: the even split of a fresh enable: " << read(std::string(kPf) + "aismi/vf1/resources");
}

TEST_F(SimulatedCard, ShowsAVfAsResettingWhileItsFlrRuns) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    mutate(0, [&](sim::SimCardModel& m) {
        auto r = m.beginFlr(0, clock.now);
        EXPECT_EQ(r.blockNs, 100'000'000);
        return Result<void>();
    });
    EXPECT_EQ(field(read(vfStatus(0)), "state"), "resetting");
    clock.advanceMs(100);
    EXPECT_EQ(field(read(vfStatus(0)), "state"), "idle");
}

TEST_F(SimulatedCard, BlocksWhileTheKernelCreatesVfs) {
    auto c = defaultConfig();
    c.timeFactor = 0.01;
    build(c);
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "4").ok());
    ASSERT_EQ(clock.sleeps.size(), 1u);
    EXPECT_EQ(clock.sleeps[0], 40'000) << "4 VFs x 1000 us x 0.01";
    EXPECT_FALSE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok()) << "EBUSY";
    EXPECT_EQ(clock.sleeps.size(), 1u) << "a refused write does not block";
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "0").ok());
    ASSERT_EQ(clock.sleeps.size(), 2u);
    EXPECT_EQ(clock.sleeps[1], 40'000) << "removing VFs takes as long";
}

TEST_F(SimulatedCard, ScalesFlrTimeByTheTimeFactor) {
    auto c = defaultConfig();
    c.timeFactor = 0.01;
    build(c);
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "1").ok());
    clock.sleeps.clear();  // enabling the VF blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)
    ASSERT_TRUE(fs->write("bus/pci/devices/0000:3b:00.4/reset", "1").ok());
    ASSERT_EQ(clock.sleeps.size(), 1u);
    EXPECT_EQ(clock.sleeps[0], 1'000'000);
}

TEST_F(SimulatedCard, AcceptsOnlyOneInTheResetAttribute) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "1").ok());
    clock.sleeps.clear();  // enabling the VF blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)
    EXPECT_EQ(fs->write("bus/pci/devices/0000:3b:00.4/reset", "2").error().sysErrno, EINVAL);
    EXPECT_EQ(fs->write("bus/pci/devices/0000:3b:00.4/reset", "yes").error().sysErrno, EINVAL);
    EXPECT_TRUE(clock.sleeps.empty());
}

TEST_F(SimulatedCard, KeepsItsStateAcrossAReopen) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "5").ok());
    ASSERT_TRUE(fs->write(std::string(kPf) + "aismi/vf2/resources", "compute_units 3\nmemory_mib 1000\nengines 1\n").ok());
    load(0, 2);
    inject(0, std::nullopt, sim::Fault::Thermal);
    clock.advanceMs(10);
    const std::string status = read(vfStatus(2));
    reopen();
    EXPECT_EQ(read(std::string(kPf) + "sriov_numvfs"), "5\n");
    EXPECT_EQ(read(std::string(kPf) + "aismi/vf2/resources"), "compute_units 3\nmemory_mib 1000\nengines 1\nburst_units 3\nweight 1\n");
    EXPECT_EQ(read(vfStatus(2)), status);
    EXPECT_GT(std::stod(read(std::string(kPf) + "hwmon/hwmon0/temp1_input")), 80000) << "still thermal";
}

TEST_F(SimulatedCard, StopsAHungVfUntilItIsReset) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    load(0, 0);
    load(0, 1);
    clock.advanceMs(20);
    inject(0, 0, sim::Fault::VfHang);
    const uint64_t frozen = number(read(vfStatus(0)), "progress");
    clock.advanceMs(30);
    EXPECT_EQ(field(read(vfStatus(0)), "state"), "hung");
    EXPECT_EQ(number(read(vfStatus(0)), "progress"), frozen);
    EXPECT_EQ(number(read(vfStatus(1)), "progress"), 50u) << "the neighbour keeps working";
    ASSERT_TRUE(fs->write("bus/pci/devices/0000:3b:00.4/reset", "1").ok());
    EXPECT_EQ(field(read(vfStatus(0)), "state"), "idle");
}

TEST_F(SimulatedCard, FailsAnFlrWhenToldTo) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "1").ok());
    clock.sleeps.clear();  // enabling the VF blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)
    load(0, 0);
    inject(0, 0, sim::Fault::FlrFail);
    auto r = fs->write("bus/pci/devices/0000:3b:00.4/reset", "1");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().sysErrno, EIO);
    EXPECT_EQ(field(read(vfStatus(0)), "state"), "running") << "a failed FLR changed nothing";
}

TEST_F(SimulatedCard, TimesOutAnFlrThatNeverCompletes) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "1").ok());
    clock.sleeps.clear();  // enabling the VF blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)
    inject(0, 0, sim::Fault::FlrTimeout);
    auto r = fs->write("bus/pci/devices/0000:3b:00.4/reset", "1");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::Timeout);
    ASSERT_EQ(clock.sleeps.size(), 1u);
    EXPECT_EQ(clock.sleeps[0], 1'000'000'000) << "the write blocks for the FLR timeout";
    EXPECT_EQ(field(read(vfStatus(0)), "state"), "error");
}

TEST_F(SimulatedCard, CountsEccErrorsAndStopsAVfOnAnUncorrectableOne) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    inject(0, 1, sim::Fault::EccCorrectable);
    inject(0, std::nullopt, sim::Fault::EccCorrectable);
    inject(0, 0, sim::Fault::EccUncorrectable);
    EXPECT_EQ(number(read(vfStatus(1)), "ecc_corrected"), 1u);
    EXPECT_EQ(field(read(vfStatus(0)), "state"), "error");
    const std::string t = read(std::string(kPf) + "aismi/telemetry");
    EXPECT_EQ(number(t, "ecc_corrected"), 2u);
    EXPECT_EQ(number(t, "ecc_uncorrected"), 1u);
    EXPECT_NE(read("bus/pci/devices/0000:3b:00.5/aer_dev_correctable").find("TOTAL_ERR_COR 1"), std::string::npos);
    EXPECT_NE(read("bus/pci/devices/0000:3b:00.4/aer_dev_nonfatal").find("TOTAL_ERR_NONFATAL 1"), std::string::npos);
}

TEST_F(SimulatedCard, RunsHotAndAtHalfSpeedUnderAThermalFault) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "1").ok());
    clock.sleeps.clear();  // enabling the VF blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)
    load(0, 0);
    const double cool = std::stod(read(std::string(kPf) + "hwmon/hwmon0/temp1_input"));
    inject(0, std::nullopt, sim::Fault::Thermal);
    clock.advanceMs(100);
    EXPECT_EQ(std::stod(read(std::string(kPf) + "hwmon/hwmon0/temp1_input")), cool + 45000);
    EXPECT_EQ(number(read(vfStatus(0)), "progress"), 50u);
}

TEST_F(SimulatedCard, TrainsTheLinkDownOnLinkDegrade) {
    inject(0, std::nullopt, sim::Fault::LinkDegrade);
    EXPECT_EQ(read(std::string(kPf) + "current_link_width"), "4\n");
    EXPECT_EQ(read(std::string(kPf) + "current_link_speed"), "8.0 GT/s PCIe\n");
    EXPECT_EQ(read(std::string(kPf) + "max_link_width"), "16\n");
    auto cs = parseConfigSpace(read(std::string(kPf) + "config"));
    ASSERT_TRUE(cs.ok());
    EXPECT_EQ(cs->pcie->linkWidth, 4);
}

TEST_F(SimulatedCard, StopsAnsweringWhenTheDeviceIsLost) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "1").ok());
    clock.sleeps.clear();  // enabling the VF blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)
    inject(0, std::nullopt, sim::Fault::DeviceLost);
    EXPECT_EQ(parseConfigSpace(read(std::string(kPf) + "config")).error().code, Errc::DeviceLost);
    EXPECT_EQ(fs->read(std::string(kPf) + "aismi/telemetry").error().code, Errc::DeviceLost);
    EXPECT_EQ(fs->read(std::string(kPf) + "hwmon/hwmon0/temp1_input").error().code, Errc::DeviceLost);
    EXPECT_EQ(fs->write("bus/pci/devices/0000:3b:00.4/reset", "1").error().code, Errc::DeviceLost);
    EXPECT_EQ(read(std::string(kPf) + "vendor"), "0xa15e\n") << "the kernel's cached IDs remain";
    EXPECT_TRUE(read("bus/pci/devices/0000:3d:00.0/aismi/telemetry").size() > 0) << "the other card is fine";
    mutate(0, [&](sim::SimCardModel& m) { return m.clear(std::nullopt, clock.now); });
    EXPECT_TRUE(parseConfigSpace(read(std::string(kPf) + "config")).ok());
}

TEST_F(SimulatedCard, CorruptsTheSpareFirmwareBankOnFwCorrupt) {
    inject(0, std::nullopt, sim::Fault::FirmwareCorrupt);
    const std::string fw = read(std::string(kPf) + "aismi/firmware");
    EXPECT_EQ(field(fw, "bank0_integrity"), "ok") << "the active bank still runs";
    EXPECT_EQ(field(fw, "bank1_integrity"), "bad");
    mutate(0, [&](sim::SimCardModel& m) { return m.clear(std::nullopt, clock.now); });
    EXPECT_EQ(field(read(std::string(kPf) + "aismi/firmware"), "bank1_integrity"), "ok");
}

TEST_F(SimulatedCard, RefusesFaultsOnTheWrongKindOfTarget) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "1").ok());
    clock.sleeps.clear();  // enabling the VF blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)
    auto r = state->mutate(0, [&](sim::SimCard& c) { return sim::SimCardModel(state->config(), c).inject(0, sim::Fault::Thermal, 0); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    r = state->mutate(0, [&](sim::SimCard& c) { return sim::SimCardModel(state->config(), c).inject(std::nullopt, sim::Fault::VfHang, 0); });
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    r = state->mutate(0, [&](sim::SimCard& c) { return sim::SimCardModel(state->config(), c).inject(5, sim::Fault::VfHang, 0); });
    EXPECT_EQ(r.error().code, Errc::NotFound);
}

TEST_F(SimulatedCard, ValidatesProvisioningAgainstCapacity) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    const std::string res = std::string(kPf) + "aismi/vf0/resources";
    EXPECT_EQ(fs->write(res, "compute_units 500\nmemory_mib 10\nengines 1\n").error().sysErrno, ENOSPC);
    EXPECT_EQ(fs->write(res, "compute_units 0\nmemory_mib 10\nengines 1\n").error().sysErrno, EINVAL);
    EXPECT_EQ(fs->write(res, "compute_units 4\n").error().sysErrno, EINVAL);
    EXPECT_EQ(fs->write(res, "garbage").error().sysErrno, EINVAL);
    load(0, 0);
    EXPECT_EQ(fs->write(res, "compute_units 4\nmemory_mib 10\nengines 1\n").error().sysErrno, EBUSY);
}

TEST_F(SimulatedCard, BindsAVfToVfioOnlyThroughDriverOverride) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "1").ok());
    clock.sleeps.clear();  // enabling the VF blocked too (SimulatedCard.BlocksWhileTheKernelCreatesVfs)
    const std::string vf = "0000:3b:00.4";
    ASSERT_TRUE(fs->write("bus/pci/drivers/aismi/unbind", vf).ok());
    EXPECT_EQ(fs->write("bus/pci/drivers/vfio-pci/bind", vf).error().sysErrno, ENODEV) << "vfio-pci has no ID table";
    ASSERT_TRUE(fs->write("bus/pci/devices/" + vf + "/driver_override", "vfio-pci").ok());
    ASSERT_TRUE(fs->write("bus/pci/drivers_probe", vf).ok());
    EXPECT_EQ(fs->readLink("bus/pci/devices/" + vf + "/driver").valueOr(""), "../../../../bus/pci/drivers/vfio-pci");
    EXPECT_TRUE(fs->exists("bus/pci/drivers/vfio-pci/" + vf));
}

TEST_F(SimulatedCard, RefusesATimeInTheStateFileThatWouldOverflow) {
    // Issue 7 #14: settled_ns above INT64_MAX wrapped to a negative time, and the elapsed-time
    // arithmetic overflowed a signed integer (UBSan).
    auto card = state->card(0);
    ASSERT_TRUE(card.ok());
    std::string text = (*card)->serialize();
    const auto at = text.find("settled_ns ");
    ASSERT_NE(at, std::string::npos);
    const std::string line = text.substr(at, text.find('\n', at) - at);
    auto parse = [&](const std::string& value) {
        std::string t = text;
        t.replace(at, line.size(), "settled_ns " + value);
        return sim::SimCard::parse(t, state->config(), "card0.state");
    };
    auto wrapped = parse("18446744073709551615");
    ASSERT_FALSE(wrapped.ok());
    EXPECT_NE(wrapped.error().message.find("settled_ns is out of range"), std::string::npos) << wrapped.error().message;
    auto latest = parse("9223372036854775807");  // the largest time there is: no overflow either way
    ASSERT_TRUE(latest.ok()) << latest.error().message;
    latest->vfs.resize(1);
    latest->vfs[0].loadOn = true;
    latest->vfs[0].driver = "aismi";
    sim::SimCardView view(state->config(), *latest);
    EXPECT_EQ(view.progress(0, 0), latest->vfs[0].progressBase);
    EXPECT_EQ(view.progress(0, INT64_MAX), latest->vfs[0].progressBase);
}

TEST_F(SimulatedCard, ReportsAMalformedStateFileByNameAndLineAndKeepsTheCardInItsSlot) {
    {
        std::ofstream(dir + "/card0.state", std::ios::app) << "this-line-has-no-value\n";
    }
    auto c = state->card(0);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, Errc::MalformedData);
    EXPECT_NE(c.error().message.find("card0.state line"), std::string::npos) << c.error().message;
    // The card stays in its slot (so nothing renumbers the others): its identity reads, and
    // every other read fails with the error that names the file.
    EXPECT_TRUE(fs->exists(kPf));
    EXPECT_EQ(fs->read(std::string(kPf) + "vendor").valueOr(""), "0xa15e\n");
    auto config = fs->read(std::string(kPf) + "config");
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.error().message.find("card0.state line"), std::string::npos) << config.error().message;
    EXPECT_FALSE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    EXPECT_FALSE(fs->exists(std::string(kPf) + "virtfn0"));
    EXPECT_FALSE(fs->exists(std::string(kPf) + "aismi"));
    EXPECT_TRUE(fs->exists("bus/pci/devices/0000:3d:00.0"));
}

TEST_F(SimulatedCard, RejectsImpossibleConfigurations) {
    auto c = defaultConfig();
    c.totalVfs = 300;
    EXPECT_EQ(c.validate().error().code, Errc::ConfigInvalid);
    c = defaultConfig();
    c.cards = 0;
    EXPECT_FALSE(c.validate().ok());
    c = defaultConfig();
    c.timeFactor = 0;
    EXPECT_FALSE(c.validate().ok());
    EXPECT_EQ(sim::SimStateDir::create(dir, defaultConfig()).error().code, Errc::InvalidState)
        << "an existing card directory is never overwritten";
}

TEST_F(SimulatedCard, NeverWritesThroughALinkPlantedAtItsTemporaryName) {
    const std::string outside = tmp / "outside";
    { std::ofstream(outside) << "precious\n"; }
    const std::string tmpName = dir + "/card0.state.tmp." + std::to_string(::getpid());
    ASSERT_EQ(::symlink(outside.c_str(), tmpName.c_str()), 0);
    inject(0, std::nullopt, sim::Fault::Thermal);  // any change rewrites card0.state through its temporary
    std::ifstream in(outside);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "precious\n") << "the link's target is untouched";
    struct stat st {};
    EXPECT_NE(::lstat(tmpName.c_str(), &st), 0) << "no temporary (and no link) is left behind";
    EXPECT_EQ(::lstat((dir + "/card0.state").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
}

namespace {

// What aismi-sim power-cycle and VF count changes do to card 0 from another process: its VFs
// flip between 8 and none, 300 times; `stop` is set when it is done.
std::thread flipVfsInTheBackground(sim::SimStateDir& state, aismi::test::ManualClock& clock, std::atomic<bool>& stop) {
    return std::thread([&state, &clock, &stop] {
        for (int i = 0; i < 300 && !stop; ++i)
            (void)state.mutate(0, [&](sim::SimCard& c) {
                sim::SimCardModel m(state.config(), c);
                (void)m.setNumVfs(c.vfs.empty() ? 8u : 0u, clock.now);
                return Result<void>();
            });
        stop = true;
    });
}

}  // namespace

TEST_F(SimulatedCard, GivesEachLookupOneConsistentViewWhileAWriterChangesTheCard) {
    // A reader walks VF attributes while another writer (aismi-sim power-cycle, here the
    // model) flips the card between 8 and 0 VFs. Before, a VF found in one load of the card
    // file was read from a second load without it: std::out_of_range on the reader's thread.
    std::atomic<bool> stop{false};
    std::thread writer = flipVfsInTheBackground(*state, clock, stop);
    unsigned reads = 0;
    while (!stop) {
        for (unsigned k = 0; k < 8; ++k) {
            const std::string vf = "bus/pci/devices/" + PciAddress(0, 0x3b, 0, static_cast<uint8_t>(4 + k)).str() + "/";
            EXPECT_NO_THROW((void)fs->read(vf + "vendor"));
            EXPECT_NO_THROW((void)fs->list(vf));
            ++reads;
        }
    }
    writer.join();
    EXPECT_GT(reads, 0u);
}

TEST_F(SimulatedCard, AChangeAnotherProcessMadeIsNeverWrittenOver) {
    // Found by aismi-chaos: aismi-sim's `inject device-lost` vanished when aismid wrote the card
    // within 2 ms of its last read (its cached copy, not the file, was the base of the write).
    auto other = sim::SimStateDir::open(dir);  // what aismi-sim opens
    ASSERT_TRUE(other.ok());
    for (int round = 0; round < 50; ++round) {
        ASSERT_TRUE(state->card(0).ok());  // aismid's cache is fresh
        ASSERT_TRUE((*other)
                        ->mutate(0, [&](sim::SimCard& c) {
                            c.deviceLost = round % 2 == 0;
                            return Result<void>();
                        })
                        .ok());
        ASSERT_TRUE(state->mutate(0, [](sim::SimCard& c) {
                             c.pf.resetCount++;
                             return Result<void>();
                         }).ok());
        EXPECT_EQ((*state->card(0))->deviceLost, round % 2 == 0) << "round " << round << ": the other process's change was lost";
    }
}

TEST_F(SimulatedCard, AWriteToAVfThatWentAwayIsAnErrorNotAnException) {
    // Found by aismi-chaos: a VF reset racing a power cycle threw std::out_of_range out of the
    // simulated sysfs (aismid answered Internal). The kernel answers ENODEV or ENOENT.
    std::atomic<bool> stop{false};
    std::thread writer = flipVfsInTheBackground(*state, clock, stop);
    unsigned writes = 0;
    while (!stop) {
        for (unsigned k = 0; k < 8; ++k) {
            const std::string vf = "bus/pci/devices/" + PciAddress(0, 0x3b, 0, static_cast<uint8_t>(4 + k)).str() + "/";
            for (const auto& [name, data] : {std::pair{"reset_method", "flr"}, {"reset", "1"}, {"driver_override", "vfio-pci"}}) {
                Result<void> r;
                EXPECT_NO_THROW(r = fs->write(vf + name, data)) << name;
                if (!r) {
                    EXPECT_TRUE(r.error().sysErrno == ENODEV || r.error().sysErrno == ENOENT) << name << ": " << r.error().message;
                }
            }
            ++writes;
        }
    }
    writer.join();
    EXPECT_GT(writes, 0u);
    sim::SimCard none;
    sim::SimCardModel empty(state->config(), none);
    EXPECT_EQ(empty.beginFlr(3, clock.now).err, ENODEV) << "an FLR of a VF that is not there";
}

namespace {

// A VF shape as the vendor ABI's resources file takes it.
std::string shapeText(unsigned cu, uint64_t mib, unsigned burst, unsigned weight) {
    return "compute_units " + std::to_string(cu) + "\nmemory_mib " + std::to_string(mib) + "\nengines 1\nburst_units " +
           std::to_string(burst) + "\nweight " + std::to_string(weight) + "\n";
}

double share(const std::string& status) { return std::stod(field(status, "compute_share")); }

}  // namespace

TEST_F(SimulatedCard, SharesIdleComputeByWeightAboveEachGuarantee) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "3").ok());
    const std::string res = std::string(kPf) + "aismi/vf";
    ASSERT_TRUE(fs->write(res + "0/resources", "compute_units 0\nmemory_mib 0\nengines 0\n").ok());
    ASSERT_TRUE(fs->write(res + "1/resources", "compute_units 0\nmemory_mib 0\nengines 0\n").ok());
    ASSERT_TRUE(fs->write(res + "2/resources", "compute_units 0\nmemory_mib 0\nengines 0\n").ok());
    ASSERT_TRUE(fs->write(res + "0/resources", shapeText(16, 1024, 128, 1)).ok());
    ASSERT_TRUE(fs->write(res + "1/resources", shapeText(16, 1024, 128, 3)).ok());
    ASSERT_TRUE(fs->write(res + "2/resources", shapeText(32, 1024, 32, 1)).ok());
    load(0, 0);
    load(0, 1);
    // 128 units: 32 guaranteed, 96 shared 1:3.
    EXPECT_DOUBLE_EQ(share(read(vfStatus(0))), 40);
    EXPECT_DOUBLE_EQ(share(read(vfStatus(1))), 88);
    EXPECT_EQ(field(read(vfStatus(0)), "throttled"), "1");
    EXPECT_EQ(field(read(vfStatus(2)), "throttled"), "0") << "an idle VF is not throttled";
    EXPECT_EQ(field(read(std::string(kPf) + "aismi/telemetry"), "utilization_pct"), "100");
    clock.advanceMs(100);
    EXPECT_EQ(number(read(vfStatus(0)), "progress"), 250u) << "40 of 16 guaranteed units: 2.5 units of work per ms";
    EXPECT_EQ(number(read(vfStatus(1)), "progress"), 550u);
    // A third VF starts: everyone keeps the guarantee, the 64 left are shared 1:3.
    load(0, 2);
    clock.advanceMs(100);
    EXPECT_DOUBLE_EQ(share(read(vfStatus(0))), 32);
    EXPECT_DOUBLE_EQ(share(read(vfStatus(1))), 64);
    EXPECT_DOUBLE_EQ(share(read(vfStatus(2))), 32);
    EXPECT_EQ(field(read(vfStatus(2)), "throttled"), "0") << "it has its cap, which is its guarantee";
    EXPECT_EQ(number(read(vfStatus(0)), "progress"), 450u);
    EXPECT_EQ(number(read(vfStatus(2)), "progress"), 100u) << "a VF at its guarantee does one unit per ms";
}

TEST_F(SimulatedCard, GivesWhatACappedVfCannotTakeToTheOthers) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    const std::string res = std::string(kPf) + "aismi/vf";
    ASSERT_TRUE(fs->write(res + "0/resources", "compute_units 0\nmemory_mib 0\nengines 0\n").ok());
    ASSERT_TRUE(fs->write(res + "1/resources", shapeText(16, 1024, 128, 1)).ok());
    ASSERT_TRUE(fs->write(res + "0/resources", shapeText(16, 1024, 24, 1)).ok());
    load(0, 0);
    EXPECT_DOUBLE_EQ(share(read(vfStatus(0))), 24) << "alone, a VF bursts to its cap";
    EXPECT_EQ(field(read(vfStatus(0)), "throttled"), "0");
    load(0, 1);
    EXPECT_DOUBLE_EQ(share(read(vfStatus(0))), 24);
    EXPECT_DOUBLE_EQ(share(read(vfStatus(1))), 104) << "VF 0 could take 8 of its 48: the other 40 go to VF 1";
    EXPECT_EQ(field(read(vfStatus(1)), "throttled"), "1");
    EXPECT_EQ(read(res + "1/resources"), shapeText(16, 1024, 128, 1));
}

TEST_F(SimulatedCard, AcceptsMemoryBeyondTheCardButRefusesAWorkloadThatWouldNotFit) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "4").ok());
    const std::string res = std::string(kPf) + "aismi/vf";
    for (unsigned k = 0; k < 4; ++k) ASSERT_TRUE(fs->write(res + std::to_string(k) + "/resources", "compute_units 0\nmemory_mib 0\nengines 0\n").ok());
    // 4 x 32768 MiB on a 65536 MiB card: twice its memory.
    for (unsigned k = 0; k < 4; ++k) ASSERT_TRUE(fs->write(res + std::to_string(k) + "/resources", shapeText(16, 32768, 16, 1)).ok());
    load(0, 0);
    load(0, 1);  // 512 + 2 x 24576 resident
    auto r = state->mutate(0, [&](sim::SimCard& c) { return sim::SimCardModel(state->config(), c).setLoad(2, true, clock.now); });
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::NoSpace);
    EXPECT_NE(r.error().message.find("VF 2's workload needs 24576 MiB of device memory; 15872 MiB are free"), std::string::npos) << r.error().message;
    EXPECT_EQ(field(read(vfStatus(2)), "state"), "idle") << "refused, nothing changed";
    // Beyond four times the card's memory the card refuses the provisioning itself.
    EXPECT_EQ(fs->write(res + "3/resources", shapeText(16, 4 * 65536, 16, 1)).error().sysErrno, ENOSPC);
}

TEST_F(SimulatedCard, RefusesABurstCapOrWeightItCannotHonour) {
    ASSERT_TRUE(fs->write(std::string(kPf) + "sriov_numvfs", "2").ok());
    const std::string res = std::string(kPf) + "aismi/vf0/resources";
    ASSERT_TRUE(fs->write(res, "compute_units 0\nmemory_mib 0\nengines 0\n").ok());
    EXPECT_EQ(fs->write(res, shapeText(16, 1024, 129, 1)).error().sysErrno, ENOSPC) << "a cap above the card";
    EXPECT_EQ(fs->write(res, shapeText(16, 1024, 32, 0)).error().sysErrno, EINVAL) << "weight 0";
    EXPECT_EQ(fs->write(res, shapeText(16, 1024, 32, 1001)).error().sysErrno, EINVAL);
    EXPECT_EQ(fs->write(res, shapeText(16, 1024, 32, 1) + "colour 3\n").error().sysErrno, EINVAL) << "an unknown key";
    EXPECT_EQ(field(read(res), "compute_units"), "0") << "nothing was taken";
}
