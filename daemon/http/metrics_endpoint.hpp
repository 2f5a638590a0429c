// What aismid serves at /metrics (docs/metrics.md): every card's and VF's latest snapshot,
// health as a gauge per state, the age of each card's data, and aismid's own counters
// (events, polls, scrapes, HTTP). Renders on the loop thread from the inventory it is given;
// a value that was never read is absent, never a made-up zero.
#pragma once

#include "exposition.hpp"
#include "http_server.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

class EventBus;
class Inventory;
class Poller;

class MetricsEndpoint {
public:
    struct Options {
        bool ownerLabels = false;  // the tenant of assigned VFs as a label of every VF series
        std::string version;
        std::string backend;
        std::function<std::optional<uint64_t>()> storeBytes;  // the state store's content, read at each scrape
    };
    /// The polling interval and the read counters come from `poller` as they are at each scrape.
    MetricsEndpoint(EventBus& events, const Inventory& inventory, const Poller& poller, Options options);

    bool ownerLabels() const { return options_.ownerLabels; }
    void setOwnerLabels(bool on) { options_.ownerLabels = on; }
    /// The server's counters, once it listens.
    void setHttpStats(const HttpStats* stats) { http_ = stats; }

    /// Answers one request: /metrics, / (a page pointing at it), 404 otherwise.
    HttpReply handle(const HttpRequest& request);
    /// The exposition as of `nowUs` (unix microseconds).
    std::string render(metrics::Format format, int64_t nowUs);

private:
    void renderCards(metrics::Exposition& out, int64_t nowUs) const;
    void renderVfs(metrics::Exposition& out) const;
    void renderDaemon(metrics::Exposition& out) const;

    const Inventory& inventory_;
    const Poller& poller_;
    const HttpStats* http_ = nullptr;
    Options options_;
    std::vector<std::array<uint64_t, 3>> events_;  // by event type, then severity
    uint64_t scrapes_ = 0;
    double scrapeSeconds_ = 0;
};

}  // namespace aismi
