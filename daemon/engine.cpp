#include "engine.hpp"

#include "card_reader.hpp"
#include "state_store.hpp"
#include "vf_partitioner.hpp"
#include "../libmgmt/text.hpp"

#include <aismi/card.hpp>

#include <boost/asio/post.hpp>

namespace aismi {

Engine::Engine(boost::asio::io_context& io, StateStore& store, Fs& fs, std::vector<DeviceMatch> matches)
    : io_(io), store_(store), fs_(fs), matches_(std::move(matches)), partitioner_(std::make_unique<VfPartitioner>(store)), pollTimer_(io) {}

Engine::~Engine() {
    stop();
    pool_.join();
}

void Engine::stop() {
    *alive_ = false;
    pollTimer_.cancel();
}

Result<std::vector<std::string>> Engine::start() {
    auto found = discoverCards(fs_, matches_);
    if (!found) return std::move(found).error();
    devices_ = std::move(*found);
    for (const auto& card : devices_) {
        identities_.push_back(readCardIdentity(card));
        strands_.push_back(std::make_unique<boost::asio::strand<boost::asio::thread_pool::executor_type>>(pool_.get_executor()));
    }
    auto log = partitioner_->reconcile(devices_, identities_);
    for (size_t i = 0; i < devices_.size(); ++i) snapshots_.push_back(readCardSnapshot(devices_[i], identities_[i]));
    polling_.assign(devices_.size(), false);
    return log;
}

void Engine::schedulePolling(unsigned intervalMs) {
    pollIntervalMs_ = intervalMs;
    pollTimer_.expires_after(std::chrono::milliseconds(intervalMs));
    pollTimer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive) return;
        pollAll();
        schedulePolling(pollIntervalMs_);
    });
}

void Engine::pollAll() {
    for (unsigned i = 0; i < devices_.size(); ++i)
        if (!polling_[i]) refresh(i, nullptr);  // a slow card skips a beat instead of queueing reads
}

void Engine::refresh(unsigned card, std::function<void()> then) {
    polling_[card] = true;
    boost::asio::post(*strands_[card], [this, card, then = std::move(then), alive = alive_]() mutable {
        CardSnapshot fresh = readCardSnapshot(devices_[card], identities_[card]);
        boost::asio::post(io_, [this, card, fresh = std::move(fresh), then = std::move(then), alive]() mutable {
            if (!*alive) return;
            polling_[card] = false;
            CardSnapshot before = std::move(snapshots_[card]);
            snapshots_[card] = std::move(fresh);
            if (onCardUpdated) onCardUpdated(card, before);
            if (then) then();
        });
    });
}

Result<unsigned> Engine::findCard(const std::string& id) const {
    if (!id.empty() && id.find_first_not_of("0123456789") == std::string::npos) {
        const auto n = text::parseUnsigned(id, "card");
        if (n && *n < snapshots_.size()) return static_cast<unsigned>(*n);
    }
    for (const auto& c : snapshots_) {
        if (c.pciAddress == id || c.serial == id) return c.index;
    }
    // Accept the short PCI form (3b:00.0) that lspci prints.
    if (auto full = PciAddress::parse("0000:" + id))
        for (const auto& c : snapshots_)
            if (c.pciAddress == full->str()) return c.index;
    return makeError(Errc::NotFound, "no card '" + id + "' (" + std::to_string(snapshots_.size()) +
                                         " cards; name one by index, PCI address or serial)");
}

Result<std::pair<unsigned, unsigned>> Engine::findVf(const std::string& id) const {
    const auto byAddress = [&](const std::string& address) -> std::optional<std::pair<unsigned, unsigned>> {
        for (const auto& c : snapshots_)
            for (const auto& vf : c.vfs)
                if (vf.pciAddress == address) return std::make_pair(c.index, vf.index);
        return std::nullopt;
    };
    if (auto a = PciAddress::parse(id)) {
        if (auto found = byAddress(a->str())) return *found;
        return makeError(Errc::NotFound, "no enabled VF has PCI address " + id);
    }
    const size_t colon = id.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return makeError(Errc::InvalidArgument, "'" + id + "' is not a VF (write CARD:VF, e.g. 0:3, or a PCI address)");
    auto card = findCard(id.substr(0, colon));
    if (!card) return std::move(card).error();
    auto vf = text::parseUnsigned(id.substr(colon + 1), "VF");
    if (!vf) return makeError(Errc::InvalidArgument, "'" + id + "' is not a VF (write CARD:VF, e.g. 0:3, or a PCI address)");
    if (*vf >= snapshots_[*card].vfs.size())
        return makeError(Errc::NotFound, "card " + std::to_string(*card) + " has no VF " + std::to_string(*vf) + " (" +
                                             std::to_string(snapshots_[*card].vfs.size()) + " enabled)");
    return std::make_pair(*card, static_cast<unsigned>(*vf));
}

void Engine::setVfCount(unsigned card, unsigned count, Done done) {
    if (card >= snapshots_.size()) return done(makeError(Errc::NotFound, "no card " + std::to_string(card)));
    auto plan = partitioner_->plan(snapshots_[card], count);
    if (!plan) return done(std::move(plan).error());
    boost::asio::post(*strands_[card], [this, card, plan = *plan, done = std::move(done), alive = alive_]() mutable {
        Result<void> outcome = VfPartitioner::apply(devices_[card], plan.count);
        boost::asio::post(io_, [this, card, plan, outcome, done = std::move(done), alive]() mutable {
            if (!*alive) return;
            if (auto f = partitioner_->finish(plan, outcome); !f && outcome) outcome = f;
            // Answer once the snapshot shows the outcome, so a reader right after sees it.
            refresh(card, [outcome, done = std::move(done)] { done(outcome); });
        });
    });
}

}  // namespace aismi
