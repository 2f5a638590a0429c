// Keeps snapshots fresh: reads every card on its strand each interval (a slow card skips a
// beat rather than queueing reads), judges health on the loop thread, and publishes
// CardUpdated / HealthChanged. Rescans for cards now and then, and at every poll while a card
// is lost, publishing CardAdded / CardReturned.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

class DeviceExecutor;
class EventBus;
class HealthAssessor;
class Inventory;
struct CardSnapshot;

/// How the reads went, for aismid's own metrics.
struct PollStats {
    uint64_t reads = 0;        // card reads finished (poll or refresh)
    uint64_t failures = 0;     // of which failed
    double readSeconds = 0;    // their time together, from asking to having the result
};

class Poller {
public:
    Poller(boost::asio::io_context& io, Inventory& inventory, DeviceExecutor& executor, HealthAssessor& health, EventBus& events);

    /// Reads every card once, blocking (start-up, before the loop runs).
    void readAllNow();
    /// Polls every `intervalMs` from now on (replaces an earlier schedule).
    void start(unsigned intervalMs);
    void stop();
    unsigned intervalMs() const { return intervalMs_; }
    const PollStats& stats() const { return stats_; }
    /// A card whose last reading is older than this many intervals (a read that hangs, or
    /// fails) has health unknown until a reading comes in.
    void setStalePolls(unsigned polls) { stalePolls_ = polls; }

    /// Reads `card` now; `then` runs on the loop thread once its snapshot is replaced.
    void refresh(unsigned card, std::function<void()> then) { read(card, std::move(then), false); }
    /// Services add what they keep of a card (desired state) to each fresh snapshot, on the
    /// loop thread, before health is judged.
    std::vector<std::function<void(CardSnapshot&)>> annotators;
    /// Publishes `card`'s last reading again with what the annotators say now, at once (no
    /// device read): a service calls it in the loop turn that commits a change of its desired
    /// state, so what clients read follows the store in commit order across cards (a tenant
    /// never shows more VFs than its quota lets it hold, not even for a moment).
    void reannotate(unsigned card);

    /// Where health learns the desired VF count of a card (by key); nullopt for none, or while
    /// a change is under way.
    std::function<std::optional<unsigned>(const std::string& cardKey)> desiredVfCount;

private:
    void schedule();
    void pollAll();
    void rescan();
    void install(unsigned card, struct CardSnapshot fresh);
    /// Marks a card's snapshot stale when its reading is too old (pollAll, every interval).
    void judgeStaleness(unsigned card);
    /// Replaces the card's snapshot and says what changed.
    void publish(unsigned card, struct CardSnapshot fresh);
    /// `routine`: a periodic poll, which may carry stable values over from the last snapshot.
    void read(unsigned card, std::function<void()> then, bool routine);

    boost::asio::io_context& io_;
    Inventory& inventory_;
    DeviceExecutor& executor_;
    HealthAssessor& health_;
    EventBus& events_;
    boost::asio::steady_timer timer_;
    unsigned intervalMs_ = 1000;
    unsigned polls_ = 0;
    bool rescanning_ = false;
    bool carryDrivers_ = false;  // this poll takes the VF drivers from the last snapshot (polling faster than 1 s)
    std::vector<bool> reading_;  // a read of this card is under way
    std::vector<std::string> lastFailure_;  // why the card's last read failed ("" when it did not)
    unsigned stalePolls_ = 3;
    PollStats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace aismi
