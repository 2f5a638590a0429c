#include "reconciler.hpp"

#include <algorithm>

namespace aismi {

std::string_view phaseName(Phase p) {
    switch (p) {
    case Phase::Inventory: return "inventory";
    case Phase::Partition: return "partition";
    case Phase::Provisioning: return "provisioning";
    case Phase::DriverBinding: return "driver binding";
    case Phase::Assignments: return "assignments";
    case Phase::FirmwareJobs: return "firmware jobs";
    case Phase::Quarantine: return "quarantine";
    }
    return "?";
}

Reconciler::Report Reconciler::run() {
    Report report;
    auto open = journal_.open();
    if (!open) {
        report.actions.push_back("cannot read the operation journal: " + open.error().message);
        return report;
    }
    std::vector<ReconcileParticipant*> ordered = participants_;
    std::stable_sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->phase() < b->phase(); });
    std::vector<bool> claimed(open->size(), false);
    for (auto* p : ordered) {
        const auto kinds = p->kinds();
        for (size_t i = 0; i < open->size(); ++i) {
            const JournalRow& entry = (*open)[i];
            if (std::find(kinds.begin(), kinds.end(), entry.kind) == kinds.end()) continue;
            claimed[i] = true;
            auto r = p->recover(entry);
            report.actions.push_back(r ? *r
                                       : entry.kind + " on " + entry.target + " (journal entry " + std::to_string(entry.id) +
                                             "): recovery failed, left open: " + r.error().message);
        }
        for (auto& line : p->converge()) report.actions.push_back(std::move(line));
    }
    for (size_t i = 0; i < open->size(); ++i) {
        if (claimed[i]) continue;
        const JournalRow& e = (*open)[i];
        report.unclaimed.push_back("journal entry " + std::to_string(e.id) + " (" + e.kind + " on " + e.target + ", at step " + e.step +
                                   ") belongs to no operation this aismid knows; left open");
    }
    return report;
}

}  // namespace aismi
