// Laying a card out in one step: "4xquarter,8xeighth" becomes a plan (the VF count, then each
// VF emptied or provisioned), checked against the card before anything changes and printed as
// it is by a dry run. Applying runs the plan as one job with progress, through the VF count
// service and one provisioning batch (each journaled and read back as they do it); a failure
// midway rolls the card back to the layout it had.
#pragma once

#include "profiles.hpp"

#include <aismi/error.hpp>
#include <aismi/types.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aismi {

class EventBus;
class Inventory;
class Jobs;
class ProvisionService;
class VfCountService;
struct CardSnapshot;

struct LayoutItem {
    unsigned count = 0;
    std::string profile;
};

/// "4xquarter,8xeighth": COUNTxPROFILE items, comma separated; counts 1 to 256.
Result<std::vector<LayoutItem>> parseLayout(std::string_view text);

/// What applying a layout does to a card.
struct LayoutPlan {
    unsigned cardIndex = 0;
    unsigned vfCountBefore = 0;
    unsigned vfCount = 0;  // the count the layout needs
    struct Vf {
        unsigned index = 0;
        std::string profile;   // "" : emptied
        Resources resources;   // the profile's shape on this card
        bool unchanged = false;  // already so: left alone
    };
    std::vector<Vf> vfs;
    /// The plan as sentences, one per line (the dry run's output).
    std::string describe() const;
};

class LayoutService {
public:
    struct Deps {
        Inventory& inventory;
        VfCountService& vfCount;
        ProvisionService& provisioning;
        Jobs& jobs;
        EventBus& events;
    };
    explicit LayoutService(Deps d) : d_(d) {}

    /// The plan for `layout` on `card` as last read; refusals say why. Nothing is changed.
    Result<LayoutPlan> plan(unsigned card, std::string_view layout) const;
    /// Applies `layout` as a job; returns its number once the plan is accepted. `done` runs
    /// when the job ends.
    Result<int64_t> apply(unsigned card, std::string_view layout, std::function<void(Result<void>)> done = nullptr);

private:
    struct Run;
    void step(std::shared_ptr<Run> run);
    void rollback(std::shared_ptr<Run> run, Error why);
    Deps d_;
};

}  // namespace aismi
