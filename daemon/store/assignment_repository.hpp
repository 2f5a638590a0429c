// Which VF belongs to which libvirt domain (and tenant), and which VFs must be scrubbed
// before anyone gets them. Keyed like the rest of desired state: the card's key and the VF.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

class Database;

struct Assignment {
    enum class State { Assigning, Assigned, Releasing };
    std::string cardKey;
    unsigned vf = 0;
    std::string domain;
    std::string tenant;        // "" for none
    bool tenantGiven = false;  // the assignment gave the VF's provisioning this tenant (taken back on release)
    State state = State::Assigning;
    bool adopted = false;      // found in a domain's XML rather than made by aismid
    int64_t since = 0;
    bool operator==(const Assignment&) const = default;
};

std::string_view assignmentStateName(Assignment::State s);

struct ScrubPending {
    std::string cardKey;
    unsigned vf = 0;
    int64_t since = 0;
    std::string reason;  // "released by domain 'vm1'"
};

/// A VF held by a consumer that is not a libvirt domain ("kubelet").
struct Holder {
    std::string cardKey;
    unsigned vf = 0;
    std::string holder;
    int64_t since = 0;
};

class AssignmentRepository {
public:
    explicit AssignmentRepository(Database& db) : db_(db) {}

    /// Inserts or replaces the row of (cardKey, vf).
    Result<void> put(const Assignment& a);
    Result<void> remove(const std::string& cardKey, unsigned vf);
    Result<std::optional<Assignment>> get(const std::string& cardKey, unsigned vf);
    Result<std::vector<Assignment>> all();

    Result<void> markDirty(const std::string& cardKey, unsigned vf, const std::string& reason);
    Result<void> markClean(const std::string& cardKey, unsigned vf);
    Result<std::vector<ScrubPending>> dirty();

    Result<void> hold(const std::string& cardKey, unsigned vf, const std::string& holder);
    Result<void> unhold(const std::string& cardKey, unsigned vf);
    Result<std::vector<Holder>> holders();

private:
    Database& db_;
};

}  // namespace aismi
