// One change per card at a time, whichever service makes it (VF count, later layouts and
// firmware), and one change per VF: a second change would be planned against a snapshot the
// first is about to change. Changes of different VFs of one card may run side by side (the
// device checks its capacity on each write). Loop thread only.
#pragma once

#include <aismi/error.hpp>

#include <map>
#include <string>

namespace aismi {

class CardChanges {
public:
    /// Claims the whole card for `what` ("set VF count to 4"); Busy, naming the change under
    /// way, when the card or any of its VFs is being changed.
    Result<void> begin(const std::string& cardKey, const std::string& what) {
        auto it = under_.lower_bound(cardKey + "/");
        if (it != under_.end() && it->first.starts_with(cardKey + "/")) return busyWith(what, it->second);
        return claim(cardKey + "/", what);
    }
    /// Claims one VF of the card: Busy while the whole card or that VF is being changed.
    Result<void> begin(const std::string& cardKey, unsigned vf, const std::string& what) {
        if (auto whole = under_.find(cardKey + "/"); whole != under_.end()) return busyWith(what, whole->second);
        return claim(cardKey + "/" + std::to_string(vf), what);
    }
    /// Keeps a change's claim past its end, which the store has yet to record (a full disk;
    /// Database::recordEnd): what waits for it is told why. end() releases it.
    void waitForRecord(const std::string& cardKey, const Error& why) { relabel(cardKey + "/", why); }
    void waitForRecord(const std::string& cardKey, unsigned vf, const Error& why) { relabel(cardKey + "/" + std::to_string(vf), why); }
    void end(const std::string& cardKey) { under_.erase(cardKey + "/"); }
    void end(const std::string& cardKey, unsigned vf) { under_.erase(cardKey + "/" + std::to_string(vf)); }
    /// Whether anything of the card is being changed.
    bool busy(const std::string& cardKey) const {
        auto it = under_.lower_bound(cardKey + "/");
        return it != under_.end() && it->first.starts_with(cardKey + "/");
    }

    /// Whether the whole card or VF `vf` is being changed.
    bool busy(const std::string& cardKey, unsigned vf) const {
        return under_.count(cardKey + "/") || under_.count(cardKey + "/" + std::to_string(vf));
    }

private:
    static Error busyWith(const std::string& what, const std::string& other) {
        return makeError(Errc::Busy, what + ": another change on this card is under way (" + other + ")");
    }
    Result<void> claim(const std::string& key, const std::string& what) {
        auto [it, fresh] = under_.emplace(key, what);
        if (!fresh) return busyWith(what, it->second);
        return {};
    }
    void relabel(const std::string& key, const Error& why) {
        if (auto it = under_.find(key); it != under_.end()) it->second = why.message;
    }
    std::map<std::string, std::string> under_;  // "KEY/" the whole card, "KEY/VF" one VF -> the change
};

}  // namespace aismi
