// Every simulated fault, alone and with every other, on a card whose neighbours work: aismid's
// poller, health assessor and recovery policy keep going, report each fault truthfully, and
// never touch the VFs and the card the faults are not on.
#include "daemon_fixture.hpp"
#include "events.hpp"
#include "recovery_repository.hpp"
#include "recovery_service.hpp"
#include "reset_service.hpp"

#include <algorithm>

using namespace aismi;
using sim::Fault;

namespace {

using Combo = std::pair<Fault, std::optional<Fault>>;

std::vector<Combo> allCombos() {
    std::vector<Combo> out;
    const auto& faults = sim::allFaults();
    for (size_t i = 0; i < faults.size(); ++i) {
        out.push_back({faults[i], std::nullopt});
        for (size_t j = i + 1; j < faults.size(); ++j) out.push_back({faults[i], faults[j]});
    }
    return out;
}

std::string comboName(const ::testing::TestParamInfo<Combo>& info) {
    std::string name(sim::faultName(info.param.first));
    if (info.param.second) name += "_and_" + std::string(sim::faultName(*info.param.second));
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
}

bool mentions(const std::vector<std::string>& reasons, const std::string& text) {
    return std::any_of(reasons.begin(), reasons.end(), [&](const std::string& r) { return r.find(text) != std::string::npos; });
}

class FaultMatrix : public aismi::test::DaemonFixture, public ::testing::WithParamInterface<Combo> {};

}  // namespace

TEST_P(FaultMatrix, KeepsServingReportsTheFaultsAndSparesTheNeighbours) {
    ASSERT_TRUE(setVfCount(0, 4).ok());
    ASSERT_TRUE(setVfCount(1, 2).ok());
    for (auto [card, vf] : {std::pair{0u, 0u}, {0u, 1u}, {0u, 2u}, {1u, 0u}}) load(card, vf);
    ResetService resets({*journal, *inventory, *executor, *poller, *events, changes});
    RecoveryRepository rows(*db);
    RecoveryService recovery({rows, *inventory, resets, *events, changes}, RecoveryPolicy{});
    ASSERT_TRUE(recovery.load().ok());
    poller->annotators.push_back([&](CardSnapshot& s) { recovery.annotate(s); });
    unsigned autoResets = 0;
    events->subscribe<Notice>([&](const Notice& n) { autoResets += n.type == EventType::AutoReset; });

    std::vector<Fault> faults{GetParam().first};
    if (GetParam().second) faults.push_back(*GetParam().second);
    const auto has = [&](Fault f) { return std::find(faults.begin(), faults.end(), f) != faults.end(); };
    for (Fault f : faults) inject(0, sim::faultAppliesToVf(f) ? std::optional<unsigned>(1) : std::nullopt, f);
    for (int round = 0; round < 6; ++round) {
        clock.advanceMs(100);
        poller->readAllNow();
        recovery.watch(inventory->snapshot(0));
        ASSERT_TRUE(runUntil([&] { return !changes.busy(kSerial0); })) << "a reset never finished";
    }

    const CardSnapshot& card = inventory->snapshot(0);
    const std::string seen = ::testing::PrintToString(card.healthReasons);
    if (has(Fault::DeviceLost) || has(Fault::PowerCut)) {
        EXPECT_EQ(card.health, Health::Lost);
    } else {
        const VfSnapshot& vf1 = card.vfs.at(1);
        const std::string vfSeen = ::testing::PrintToString(vf1.healthReasons);
        const std::pair<Fault, const char*> cardReasons[] = {
            {Fault::Thermal, "temperature"}, {Fault::LinkDegrade, "PCIe link degraded"}, {Fault::FirmwareCorrupt, "firmware bank"}};
        for (auto [fault, reason] : cardReasons) {
            if (has(fault)) {
                EXPECT_TRUE(mentions(card.healthReasons, reason)) << seen;
            }
        }
        if (has(Fault::EccUncorrectable)) {
            EXPECT_EQ(vf1.health, Health::Critical) << vfSeen;
            EXPECT_TRUE(mentions(vf1.healthReasons, "uncorrectable ECC")) << vfSeen;
        }
        // A VF an uncorrectable error stopped says "error", not "hung": it is degraded (above),
        // and not reset by the hang policy.
        if (has(Fault::VfHang) && !has(Fault::EccUncorrectable)) {
            EXPECT_GE(autoResets, 1u) << "the hung VF was taken up by the recovery policy";
            if (!has(Fault::FlrFail) && !has(Fault::FlrTimeout)) {
                EXPECT_GE(vf1.status->resetCount, 1u) << vfSeen;
            } else {
                EXPECT_NE(vf1.health, Health::Ok) << "a VF whose resets fail is not called ok";
            }
        }
        const bool latent = std::all_of(faults.begin(), faults.end(), [](Fault f) {
            // Armed for the next reset or firmware write: nothing to show until then.
            return f == Fault::FlrFail || f == Fault::FlrTimeout || f == Fault::EccCorrectable || f == Fault::FirmwareWriteError ||
                   f == Fault::FlashWearout || f == Fault::FirmwareNoBoot || f == Fault::FirmwareUnhealthy;
        });
        if (latent) {
            EXPECT_EQ(card.health, Health::Ok) << "faults with nothing to show yet: " << seen;
        }
        for (unsigned k : {0u, 2u}) {
            EXPECT_EQ(card.vfs.at(k).state(), VfState::Running) << "VF " << k << " was spared";
            EXPECT_EQ(card.vfs.at(k).status->resetCount, 0u) << "VF " << k << " was never reset";
        }
    }
    const CardSnapshot& other = inventory->snapshot(1);
    EXPECT_EQ(other.health, Health::Ok) << ::testing::PrintToString(other.healthReasons);
    EXPECT_EQ(other.vfs.at(0).state(), VfState::Running);
    EXPECT_EQ(other.vfs.at(0).status->resetCount, 0u);
}

INSTANTIATE_TEST_SUITE_P(EveryFaultAloneAndInPairs, FaultMatrix, ::testing::ValuesIn(allCombos()), comboName);
