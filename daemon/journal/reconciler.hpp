// Reconciliation: after a crash, open journal entries are handed to the participant that owns
// their kind, phase by phase (inventory -> partition -> provisioning -> driver binding ->
// assignments -> firmware jobs -> quarantine), then each participant converges desired state
// and the devices. An entry of a kind nobody claims stays open and is reported, never closed.
#pragma once

#include "operation_kind.hpp"

#include <string>
#include <vector>

namespace aismi {

class JournalRepository;

class Reconciler {
public:
    explicit Reconciler(JournalRepository& journal) : journal_(journal) {}

    void add(ReconcileParticipant& participant) { participants_.push_back(&participant); }

    struct Report {
        std::vector<std::string> actions;    // what was done, one sentence each
        std::vector<std::string> unclaimed;  // open entries no participant owns (left open)
    };
    /// Blocking: start-up, before serving.
    Report run();

private:
    JournalRepository& journal_;
    std::vector<ReconcileParticipant*> participants_;
};

}  // namespace aismi
