// Where the simulated hardware keeps its state: a directory outside any daemon, so the cards
// survive a daemon crash, and aismi-sim can change them (faults, workloads) while it runs.
// Files are replaced atomically (readers never see half a card); writers take an flock.
#pragma once

#include "sim_model.hpp"

#include <aismi/error.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace aismi::sim {

class SimStateDir {
public:
    /// Builds fresh cards in `dir` (created if missing); refuses a directory that already
    /// holds simulated cards.
    static Result<std::unique_ptr<SimStateDir>> create(const std::string& dir, const SimConfig& config);
    static Result<std::unique_ptr<SimStateDir>> open(const std::string& dir);
    static bool holdsCards(const std::string& dir);

    ~SimStateDir();
    SimStateDir(const SimStateDir&) = delete;
    SimStateDir& operator=(const SimStateDir&) = delete;

    const SimConfig& config() const { return config_; }
    const std::string& dir() const { return dir_; }

    /// The card as the hardware has it now; re-read only when another writer replaced it.
    /// Safe to call from several threads; the snapshot never changes under the caller.
    Result<std::shared_ptr<const SimCard>> card(unsigned index);
    /// A change to one card under the directory's lock: read, change, write back atomically.
    /// Nothing is written when `change` fails.
    Result<void> mutate(unsigned index, const std::function<Result<void>(SimCard&)>& change);
    /// Rewrites the time factor (the daemon's --sim-time-factor wins over the stored one).
    /// Call before the directory is shared between threads.
    Result<void> setTimeFactor(double factor);

private:
    SimStateDir(std::string dir, SimConfig config);
    struct Cached;
    /// With the card's mutex held. `revalidate`: check the file even if it was checked within
    /// kRevalidateAfter (a read-modify-write must start from what the file holds now).
    Result<std::shared_ptr<const SimCard>> load(unsigned index, bool revalidate = false);
    Result<void> save(unsigned index, const SimCard& card);
    std::string cardPath(unsigned index) const;

    std::string dir_;
    SimConfig config_;
    int lockFd_ = -1;
    std::vector<std::unique_ptr<Cached>> cache_;  // one per card, each with its own mutex
};

}  // namespace aismi::sim
