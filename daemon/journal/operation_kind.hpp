// What a capability registers with the reconciler: the operation kinds it journals, the phase
// they belong to, how to finish or roll back an entry a crash left open at each step, and how
// to bring its desired state and the devices together.
#pragma once

#include "journal_repository.hpp"

#include <aismi/error.hpp>
#include <aismi/text.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace aismi {

/// The fixed order reconciliation runs in: what a later phase relies on comes first.
enum class Phase { Inventory, Partition, Provisioning, DriverBinding, Assignments, FirmwareJobs, Quarantine };
std::string_view phaseName(Phase p);

class ReconcileParticipant {
public:
    virtual ~ReconcileParticipant() = default;
    virtual Phase phase() const = 0;
    /// The journal kinds this participant owns ("set-vf-count").
    virtual std::vector<std::string> kinds() const = 0;
    /// Finishes or rolls back `entry` (open since a crash) from what the device shows, and
    /// closes it. Blocking: start-up only. Returns a sentence for the log.
    virtual Result<std::string> recover(const JournalRow& entry) = 0;
    /// Brings the devices in line with desired state after recovery (a host reboot clears
    /// SR-IOV, for instance). Blocking: start-up only. Returns one sentence per action.
    virtual std::vector<std::string> converge() = 0;
};

/// How recovery names an entry it finds open: aismid stopped during the change, or the store
/// refused to record its end (a full disk) and aismid stopped before it took it.
inline constexpr const char* kFoundUnfinished = "found unfinished at start (aismid stopped during it, or the store did not take its end)";

/// Closes `entry` as abandoned — its payload is damaged (`why` says how) or its card is gone —
/// and returns the sentence for the log ("WHAT: found unfinished at start ...; WHY, abandoned").
inline Result<std::string> abandon(JournalRepository& journal, const JournalRow& entry, const std::string& what, const std::string& why) {
    if (auto r = journal.finish(entry.id, "abandoned: " + why); !r) return std::move(r).error();
    return what + ": " + kFoundUnfinished + "; " + why + ", abandoned";
}
inline constexpr const char* kCardGoneAfterRestart = "the card is not present after restart";

/// Typed journal payloads are encoded as "key value" lines (aismi/text.hpp parses them back),
/// so an entry stays readable with the sqlite3 shell.
class PayloadWriter {
public:
    PayloadWriter& add(std::string_view key, uint64_t v) { return add(key, std::to_string(v)); }
    PayloadWriter& add(std::string_view key, std::string_view v) {
        text_ += std::string(key) + " " + std::string(v) + "\n";
        return *this;
    }
    const std::string& str() const { return text_; }

private:
    std::string text_;
};

}  // namespace aismi
