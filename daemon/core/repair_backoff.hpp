// How often a level-triggered repair may be tried again (reconcile on levels, not edges:
// every poll asks "does desired differ from actual, and is nothing under way?"). A repair that
// keeps failing, or a device that keeps losing what it is given, is tried at once, then after
// 1 s, 2 s, 4 s ... up to a minute, instead of at every poll; a card that reaches its desired
// state starts over. Loop thread only.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <string>

namespace aismi {

class RepairBackoff {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kFirstDelay{1};
    static constexpr std::chrono::seconds kLongestDelay{60};

    /// Whether a repair of `key` may start now; if so, counts it as an attempt.
    bool attempt(const std::string& key, Clock::time_point now = Clock::now()) {
        Entry& e = entries_[key];
        if (now < e.next) return false;
        const auto delay = std::min<std::chrono::seconds>(kLongestDelay, kFirstDelay * (1LL << std::min(e.attempts, 6u)));
        e.next = now + delay;
        ++e.attempts;
        return true;
    }
    /// `key` is as desired: the next repair, when one is needed, may start at once.
    void settled(const std::string& key) { entries_.erase(key); }

private:
    struct Entry {
        unsigned attempts = 0;
        Clock::time_point next{};
    };
    std::map<std::string, Entry> entries_;
};

}  // namespace aismi
