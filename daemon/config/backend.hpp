// Where the cards come from: the real sysfs, or simulated cards in a state directory.
#pragma once

#include "daemon_config.hpp"

#include <aismi/fs.hpp>

#include <memory>

namespace aismi {

namespace sim {
class SimStateDir;
}

struct Backend {
    std::unique_ptr<sim::SimStateDir> simDir;  // only for the sim backend
    std::unique_ptr<Fs> fs;
    std::string description;  // for the log and STATUS=
    ~Backend();
    Backend();
    Backend(Backend&&) noexcept;
};

/// Opens the configured backend. The sim backend reuses cards already in --sim-dir (as
/// hardware survives a daemon restart) and creates them otherwise.
Result<Backend> openBackend(const DaemonConfig& config);

}  // namespace aismi
