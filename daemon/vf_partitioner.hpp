// SR-IOV partitioning: changing how many VFs a card has, and bringing cards back to the
// desired count after a crash or a host reboot. Desired state and the journal are written
// before the device is touched; the device is read back after.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

class Card;
class StateStore;
struct CardSnapshot;

class VfPartitioner {
public:
    explicit VfPartitioner(StateStore& store) : store_(store) {}

    /// A change that has been journaled and may now be applied to the device.
    struct Plan {
        int64_t operation = 0;
        std::string serial;
        unsigned count = 0;
        std::optional<unsigned> previousDesired;
    };

    /// Checks `count` against the card as last read (kernel rules, TotalVFs) and records the
    /// new desired count and the journal entry in one transaction. Loop thread.
    Result<Plan> plan(const CardSnapshot& card, unsigned count);
    /// Writes the count to the device and reads it back. Blocking: worker thread.
    static Result<void> apply(Card& card, unsigned count);
    /// Closes the journal entry; on failure restores the previous desired count, so a
    /// refused change leaves nothing behind. Loop thread.
    Result<void> finish(const Plan& plan, const Result<void>& outcome);

    /// At start-up, before serving: closes journal entries a crash left open and restores
    /// desired VF counts the device lost (a host reboot clears SR-IOV). Blocking. Returns
    /// what it did, one sentence per action, for the log and the event history.
    std::vector<std::string> reconcile(std::vector<Card>& cards, const std::vector<CardSnapshot>& identities);

private:
    StateStore& store_;
};

}  // namespace aismi
