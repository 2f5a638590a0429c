// The daemon's core: the cards, their latest snapshots, polling, and the services that
// change them. Owned by the event loop thread; device I/O runs on a worker pool with one
// strand per card, and results are posted back. Knows nothing of D-Bus.
#pragma once

#include "snapshot.hpp"

#include <aismi/error.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace aismi {

class Card;
class Fs;
class StateStore;
class VfPartitioner;
struct DeviceMatch;

class Engine {
public:
    Engine(boost::asio::io_context& io, StateStore& store, Fs& fs, std::vector<DeviceMatch> matches);
    ~Engine();

    /// Discovers cards, reconciles them with the store and reads them once. Blocking; call
    /// before serving. Returns the reconciliation log.
    Result<std::vector<std::string>> start();
    /// Polls every `intervalMs` from now on (replaces an earlier schedule).
    void schedulePolling(unsigned intervalMs);
    void stop();

    const std::vector<CardSnapshot>& cards() const { return snapshots_; }
    /// A card by index ("0"), PCI address or serial.
    Result<unsigned> findCard(const std::string& id) const;
    /// A VF as CARD:VF (card by index, address or serial) or by its PCI address.
    Result<std::pair<unsigned, unsigned>> findVf(const std::string& id) const;

    using Done = std::function<void(Result<void>)>;
    /// Journals, applies and reads back a VF count; `done` runs on the loop thread once the
    /// card's snapshot shows the outcome.
    void setVfCount(unsigned card, unsigned count, Done done);

    /// Called on the loop thread with a card's index whenever its snapshot was replaced.
    std::function<void(unsigned card, const CardSnapshot& before)> onCardUpdated;

private:
    void pollAll();
    void refresh(unsigned card, std::function<void()> then);

    boost::asio::io_context& io_;
    StateStore& store_;
    Fs& fs_;
    std::vector<DeviceMatch> matches_;
    boost::asio::thread_pool pool_{2};
    std::vector<Card> devices_;
    std::vector<std::unique_ptr<boost::asio::strand<boost::asio::thread_pool::executor_type>>> strands_;
    std::vector<CardSnapshot> identities_;
    std::vector<CardSnapshot> snapshots_;
    std::vector<bool> polling_;  // a read of this card is under way
    std::unique_ptr<VfPartitioner> partitioner_;
    boost::asio::steady_timer pollTimer_;
    unsigned pollIntervalMs_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace aismi
