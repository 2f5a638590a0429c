// Typed events on the loop thread: a service publishes what happened, and whoever cares (the
// bus objects, the event history, the log, other services) subscribes. Services never reach
// into each other. Handlers run synchronously, in subscription order.
#pragma once

#include <functional>
#include <typeindex>
#include <unordered_map>
#include <vector>

namespace aismi {

class EventBus {
public:
    template <class Event>
    void subscribe(std::function<void(const Event&)> handler) {
        handlers_[typeid(Event)].push_back([h = std::move(handler)](const void* e) { h(*static_cast<const Event*>(e)); });
    }

    template <class Event>
    void publish(const Event& event) const {
        auto it = handlers_.find(typeid(Event));
        if (it == handlers_.end()) return;
        // By index through a reference (element references survive a rehash): a handler may
        // subscribe more handlers while this runs.
        const auto& list = it->second;
        for (size_t i = 0; i < list.size(); ++i) {
            auto handler = list[i];  // the vector may grow while it runs
            handler(&event);
        }
    }

private:
    std::unordered_map<std::type_index, std::vector<std::function<void(const void*)>>> handlers_;
};

}  // namespace aismi
