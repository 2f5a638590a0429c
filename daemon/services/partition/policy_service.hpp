// Each card's oversubscription policy (`aismi policy set|show`, Card1.SetOversubscription):
// kept in the store and in memory, read by admission on every provisioning request. A new
// policy must hold what the card's VFs hold already, and is refused while a change to the
// card is under way, so admission never works against a policy that is being replaced.
// Loop thread.
#pragma once

#include "service.hpp"
#include <aismi/error.hpp>
#include <aismi/types.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace aismi {

class CardChanges;
class EventBus;
class Inventory;
class Poller;
class PolicyRepository;
struct CardSnapshot;

inline constexpr const char* kActionManagePolicy = "org.aismi.manage-policy";

class PolicyService : public Service {
public:
    struct Deps {
        PolicyRepository& repository;
        Inventory& inventory;
        Poller& poller;
        EventBus& events;
        CardChanges& changes;
    };
    explicit PolicyService(Deps d) : d_(d) {}

    /// Reads every card's policy from the store (at start).
    Result<void> load();
    /// The policy of the card with key `cardKey`: none (1.0, 1.0) unless one was set.
    Oversubscription of(const std::string& cardKey) const;
    /// Shows the policy in a fresh snapshot (a Poller annotator).
    void annotate(CardSnapshot& card) override;

    /// Sets either ratio of `card` (hundredths; nullopt keeps it). Refused, changing nothing,
    /// when a ratio is out of range, the card has no provisioning, a change to it is under
    /// way, or its VFs hold more than the new policy allows. Admission uses the new policy at
    /// once; `done` runs when the card's snapshot shows it too.
    void set(unsigned card, std::optional<uint32_t> compute, std::optional<uint32_t> memory, std::function<void(Result<void>)> done);

private:
    Result<void> change(unsigned card, std::optional<uint32_t> compute, std::optional<uint32_t> memory);
    Deps d_;
    std::map<std::string, Oversubscription> policies_;
};

}  // namespace aismi
