#include "backend.hpp"

#include "sim/clock.hpp"
#include "sim/sim_state_dir.hpp"
#include "sim/simulated_sysfs.hpp"

namespace aismi {

Backend::Backend() = default;
Backend::~Backend() {
    fs.reset();  // the simulated sysfs refers to the state dir
}
Backend::Backend(Backend&&) noexcept = default;

namespace {

sim::SimConfig simConfig(const DaemonConfig::SimCards& c) {
    sim::SimConfig s;
    s.cards = c.cards;
    s.totalVfs = c.totalVfs;
    s.capacity = c.capacity;
    if (c.timeFactor) s.timeFactor = *c.timeFactor;
    return s;
}

}  // namespace

Result<void> validateSimCards(const DaemonConfig::SimCards& sim) { return simConfig(sim).validate(); }

Result<Backend> openBackend(const DaemonConfig& config) {
    Backend b;
    if (config.backend == DaemonConfig::Backend::Linux) {
        b.fs = makeHostFs(config.sysfsRoot);
        if (!b.fs->exists("bus/pci/devices"))
            return makeError(Errc::ConfigInvalid, "no PCI devices under " + config.sysfsRoot + "/bus/pci/devices: is --sysfs-root right?");
        b.description = "linux (" + config.sysfsRoot + ")";
        return b;
    }
    if (sim::SimStateDir::holdsCards(config.simDir)) {
        auto opened = sim::SimStateDir::open(config.simDir);
        if (!opened) return std::move(opened).error();
        b.simDir = std::move(*opened);
        if (config.sim.timeFactor && *config.sim.timeFactor != b.simDir->config().timeFactor)
            if (auto r = b.simDir->setTimeFactor(*config.sim.timeFactor); !r) return std::move(r).error();
    } else {
        auto created = sim::SimStateDir::create(config.simDir, simConfig(config.sim));
        if (!created) return std::move(created).error();
        b.simDir = std::move(*created);
    }
    b.fs = sim::makeSimulatedSysfs(*b.simDir, sim::systemClock());
    b.description = "sim (" + std::to_string(b.simDir->config().cards) + " cards in " + config.simDir + ")";
    return b;
}

}  // namespace aismi
