// The reference model's unit: what one object (a card's VF count, a VF's provisioning, ...)
// may hold after a history of writes the tester made through aismid, when each write is known
// only by an interval — from when the tester sent the call to when the answer came — and
// clients run at once.
//
// The rule is a register's (Jepsen's Knossos checks the same): a write that was answered
// took effect somewhere in its interval; one that got no answer (aismid was killed under it)
// may or may not have. The object may hold any write not certainly followed by a certain
// write (one whose interval began after the earlier one ended), and the value seen at the last
// check when no certain write came since. A write the tester does not model (a failed
// layout's partial rollback) makes anything possible until the next check.
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

namespace aismi::chaos {

template <class V>
class Register {
public:
    static constexpr double kNever = std::numeric_limits<double>::infinity();

    explicit Register(V seen = {}) : seen_(std::move(seen)) {}

    /// A write of `value` sent at `invoked`, answered at `completed` (kNever: no answer, so it
    /// may take effect at any time until the next check). `certain`: the answer said it happened.
    void write(V value, double invoked, double completed, bool certain) { writes_.push_back({std::move(value), invoked, completed, certain}); }
    /// Something the model does not follow wrote it: any value until the next check.
    void forget() { unknown_ = true; }

    /// The values the object may hold now.
    std::vector<V> candidates() const {
        double lastCertainStart = -kNever;
        bool anyCertain = false;
        for (const auto& w : writes_)
            if (w.certain) lastCertainStart = std::max(lastCertainStart, w.invoked), anyCertain = true;
        std::vector<V> out;
        if (!anyCertain) out.push_back(seen_);
        for (const auto& w : writes_)
            if (w.completed >= lastCertainStart && std::find(out.begin(), out.end(), w.value) == out.end()) out.push_back(w.value);
        return out;
    }
    bool allows(const V& v) const {
        if (unknown_) return true;
        const auto c = candidates();
        return std::find(c.begin(), c.end(), v) != c.end();
    }
    bool unknown() const { return unknown_; }
    /// A check saw `v`: the history starts again from it.
    void seen(V v) {
        seen_ = std::move(v);
        writes_.clear();
        unknown_ = false;
    }
    size_t writes() const { return writes_.size(); }

private:
    struct Write {
        V value;
        double invoked, completed;
        bool certain;
    };
    V seen_;
    std::vector<Write> writes_;
    bool unknown_ = false;
};

}  // namespace aismi::chaos
