// One change per card at a time, whichever service makes it (VF count, provisioning, later
// layouts and firmware): a second change would be planned against a snapshot the first is
// about to change. Loop thread only.
#pragma once

#include <aismi/error.hpp>

#include <map>
#include <string>

namespace aismi {

class CardChanges {
public:
    /// Claims the card for `what` ("set VF count to 4"); Busy, naming the change under way,
    /// when another holds it.
    Result<void> begin(const std::string& cardKey, const std::string& what) {
        auto [it, fresh] = under_.emplace(cardKey, what);
        if (!fresh) return makeError(Errc::Busy, what + ": another change on this card is under way (" + it->second + ")");
        return {};
    }
    void end(const std::string& cardKey) { under_.erase(cardKey); }
    bool busy(const std::string& cardKey) const { return under_.count(cardKey) != 0; }

private:
    std::map<std::string, std::string> under_;  // card key -> the change under way
};

}  // namespace aismi
