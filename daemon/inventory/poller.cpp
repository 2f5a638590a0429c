#include "poller.hpp"

#include "card_reader.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "health_assessor.hpp"
#include "inventory.hpp"

#include <aismi/card.hpp>

#include <chrono>

namespace aismi {
namespace {

constexpr unsigned kRescanEveryMs = 10'000;  // new cards appear within this long
constexpr const char* kScanKey = "(rescan)";
constexpr unsigned kFullReadEvery = 10;  // polls; the others carry IOMMU groups over
constexpr unsigned kDriversEveryMs = 1000;  // VF drivers are read at least this often (every poll at 1 s and slower)

int64_t unixMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t monotonicSeconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

Poller::Poller(boost::asio::io_context& io, Inventory& inventory, DeviceExecutor& executor, HealthAssessor& health, EventBus& events)
    : io_(io), inventory_(inventory), executor_(executor), health_(health), events_(events), timer_(io) {}

void Poller::readAllNow() {
    for (unsigned i = 0; i < inventory_.size(); ++i) install(i, readCardSnapshot(*inventory_.device(i), inventory_.info(i)));
}

void Poller::start(unsigned intervalMs) {
    intervalMs_ = intervalMs;
    schedule();
}

void Poller::stop() {
    *alive_ = false;
    timer_.cancel();
}

void Poller::schedule() {
    timer_.expires_after(std::chrono::milliseconds(intervalMs_));
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive) return;
        pollAll();
        schedule();
    });
}

void Poller::pollAll() {
    reading_.resize(inventory_.size(), false);
    lastFailure_.resize(inventory_.size());
    ++polls_;
    const bool routine = polls_ % kFullReadEvery != 0;
    const unsigned driversEvery = std::max(1u, kDriversEveryMs / std::max(1u, intervalMs_));
    carryDrivers_ = routine && polls_ % driversEvery != 0;
    bool anyLost = false;
    for (unsigned i = 0; i < inventory_.size(); ++i) {
        anyLost = anyLost || inventory_.snapshot(i).lost;
        judgeStaleness(i);
        if (!reading_[i]) read(i, nullptr, routine);
    }
    const unsigned every = std::max(1u, kRescanEveryMs / std::max(1u, intervalMs_));
    if (anyLost || polls_ % every == 0) rescan();
}

void Poller::read(unsigned card, std::function<void()> then, bool routine) {
    reading_.resize(inventory_.size(), false);
    reading_[card] = true;
    auto device = inventory_.device(card);
    CardInfo info = inventory_.info(card);
    std::optional<CarryOver> carry;
    if (const CardSnapshot& last = inventory_.snapshot(card); routine && !last.lost) {
        carry.emplace();
        for (const auto& vf : last.vfs)
            carry->iommuGroups.emplace_back(vf.iommuGroup ? vf.pciAddress : std::string(), vf.iommuGroup.value_or(0));
        if (carryDrivers_)
            for (const auto& vf : last.vfs) carry->drivers.emplace_back(vf.pciAddress, vf.driver);
    }
    executor_.runOnCard<CardSnapshot>(
        info.key,
        [device, info, carry = std::move(carry)]() -> Result<CardSnapshot> { return readCardSnapshot(*device, info, carry ? &*carry : nullptr); },
        [this, card, then = std::move(then), asked = std::chrono::steady_clock::now()](Result<CardSnapshot> fresh) {
            reading_[card] = false;
            ++stats_.reads;
            stats_.failures += !fresh;
            stats_.readSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
            lastFailure_.resize(inventory_.size());
            lastFailure_[card] = fresh ? std::string() : fresh.error().message;
            if (fresh) install(card, std::move(*fresh));
            else events_.publish(Notice{EventType::PollFailed, Severity::Warning, inventory_.info(card).label(), "poll failed: " + fresh.error().message, card});
            if (then) then();
        });
}

void Poller::judgeStaleness(unsigned card) {
    const CardSnapshot& last = inventory_.snapshot(card);
    const int64_t ageUs = unixMicros() - last.readAtUs;
    const int64_t limitUs = int64_t{stalePolls_} * intervalMs_ * 1000;
    if (last.lost || last.readAtUs == 0 || ageUs <= limitUs) return;
    CardSnapshot stale = last;
    // No age in the text: the reason (and so health) changes when the cause does, not every poll.
    const std::string why = lastFailure_[card].empty() ? "a read is still under way (the device may not be answering)"
                                                       : "the last read failed: " + lastFailure_[card];
    stale.staleReason = "no fresh reading for more than " + std::to_string(limitUs / 1000) + " ms (" + std::to_string(stalePolls_) +
                        " poll intervals): " + why;
    if (stale.staleReason == last.staleReason) return;
    health_.assess(stale);
    publish(card, std::move(stale));
}

void Poller::install(unsigned card, CardSnapshot fresh) {
    fresh.info = inventory_.info(card);
    fresh.readAtUs = unixMicros();
    if (desiredVfCount) fresh.desiredVfs = desiredVfCount(fresh.info.key);
    for (const auto& annotate : annotators) annotate(fresh);
    health_.assess(fresh, monotonicSeconds());
    publish(card, std::move(fresh));
}

void Poller::reannotate(unsigned card) {
    if (card >= inventory_.size()) return;
    CardSnapshot again = inventory_.snapshot(card);
    for (const auto& annotate : annotators) annotate(again);
    publish(card, std::move(again));
}

void Poller::publish(unsigned card, CardSnapshot fresh) {
    CardSnapshot before = inventory_.replaceSnapshot(card, std::move(fresh));
    const CardSnapshot& now = inventory_.snapshot(card);
    events_.publish(CardUpdated{card, before, now});
    if (before.health != now.health || before.healthReasons != now.healthReasons)
        events_.publish(HealthChanged{now.info, before.health, now.health, now.healthReasons});
    if (before.lost && !now.lost) events_.publish(CardReturned{card});
}

void Poller::rescan() {
    if (rescanning_) return;
    rescanning_ = true;
    executor_.runOnCard<std::vector<Inventory::Found>>(
        kScanKey, [this] { return inventory_.scan(); },
        [this](Result<std::vector<Inventory::Found>> found) {
            rescanning_ = false;
            if (!found) return events_.publish(Notice{EventType::Discovery, Severity::Warning, "aismid", "rescan failed: " + found.error().message});
            auto merged = inventory_.merge(std::move(*found));
            reading_.resize(inventory_.size(), false);
            for (unsigned card : merged.added) {
                events_.publish(Notice{EventType::CardAdded, Severity::Info, inventory_.info(card).label(), "new card found (serial " + inventory_.info(card).serial + ")", card});
                events_.publish(CardAdded{card});
                refresh(card, nullptr);
            }
            for (unsigned card : merged.moved) {
                events_.publish(Notice{EventType::CardMoved, Severity::Warning, inventory_.info(card).label(), "card came back at a new PCI address", card});
                refresh(card, [this, card] { events_.publish(CardReturned{card}); });
            }
            for (unsigned card : merged.replaced) {
                events_.publish(Notice{EventType::CardReplaced, Severity::Warning, inventory_.info(card).label(),
                                       "another card is in this slot now (serial " + inventory_.info(card).serial + "); it takes this index", card});
                refresh(card, [this, card] { events_.publish(CardReturned{card}); });
            }
            for (const auto& problem : merged.problems)
                events_.publish(Notice{EventType::Discovery, Severity::Warning, "aismid", "cannot remember a card's index: " + problem});
        });
}

}  // namespace aismi
