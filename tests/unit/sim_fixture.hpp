// Simulated cards in a private directory, seen through the simulated sysfs, on a manual clock.
#pragma once

#include <aismi/fs.hpp>

#include "manual_clock.hpp"
#include "sim/sim_state_dir.hpp"
#include "sim/simulated_sysfs.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

namespace aismi::test {

class SimFixture : public ::testing::Test {
protected:
    void SetUp() override { build(defaultConfig()); }

    static sim::SimConfig defaultConfig() {
        sim::SimConfig c;
        c.cards = 2;
        c.totalVfs = 8;
        return c;
    }

    void build(const sim::SimConfig& config) {
        fs.reset();
        state.reset();
        dir = tmp / ("sim" + std::to_string(++builds));
        auto created = sim::SimStateDir::create(dir, config);
        ASSERT_TRUE(created.ok()) << created.error().message;
        state = std::move(*created);
        fs = sim::makeSimulatedSysfs(*state, clock);
    }

    void reopen() {
        fs.reset();
        state.reset();
        auto opened = sim::SimStateDir::open(dir);
        ASSERT_TRUE(opened.ok()) << opened.error().message;
        state = std::move(*opened);
        fs = sim::makeSimulatedSysfs(*state, clock);
    }

    std::string read(const std::string& path) {
        auto r = fs->read(path);
        EXPECT_TRUE(r.ok()) << path << ": " << r.error().message;
        return r.ok() ? *r : "";
    }

    void mutate(unsigned card, const std::function<Result<void>(sim::SimCardModel&)>& change) {
        auto r = state->mutate(card, [&](sim::SimCard& c) {
            sim::SimCardModel m(state->config(), c);
            return change(m);
        });
        ASSERT_TRUE(r.ok()) << r.error().message;
    }

    void load(unsigned card, unsigned vf, bool on = true) {
        mutate(card, [&](sim::SimCardModel& m) { return m.setLoad(vf, on, clock.now); });
    }
    void inject(unsigned card, std::optional<unsigned> vf, sim::Fault f) {
        mutate(card, [&](sim::SimCardModel& m) { return m.inject(vf, f, clock.now); });
    }

    static constexpr const char* kPf = "bus/pci/devices/0000:3b:00.0/";
    static std::string vfStatus(unsigned vf) { return std::string(kPf) + "aismi/vf" + std::to_string(vf) + "/status"; }

    TempDir tmp;
    std::string dir;
    int builds = 0;
    ManualClock clock;
    std::unique_ptr<sim::SimStateDir> state;
    std::unique_ptr<Fs> fs;
};

}  // namespace aismi::test
