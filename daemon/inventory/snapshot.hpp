// What aismid knows of a card at one poll: a read model with optional values and enums.
// "Not reported" is std::nullopt here; the D-Bus conventions (NaN, integer maxima, strings)
// are applied at the bus edge only (daemon/bus/wire.hpp).
#pragma once

#include <aismi/card.hpp>
#include <aismi/types.hpp>

#include "vf_consumer.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace aismi {

/// Worst last: Unknown (something could not be read, or the reading is stale) ranks above Ok,
/// below anything known to be wrong.
enum class Health { Ok, Unknown, Warning, Critical, Lost };
std::string_view healthName(Health h);

/// Where the temperature stands against the thresholds (the health assessor judges it).
enum class Thermal { Normal, Warning, Critical };
std::string_view thermalName(Thermal t);

/// Who a card is: read once at discovery; does not change while the card is present.
struct CardInfo {
    unsigned index = 0;       // the daemon's number for it: /org/aismi/Manager1/card<index>
    std::string key;          // the stable key of its desired state: serial, else PCI address
    PciAddress address;
    std::string pciAddress;   // address.str(), kept for the many readers
    std::string name;
    std::string serial;
    uint16_t vendorId = 0;
    uint16_t deviceId = 0;
    bool genericMode = false;
    int numaNode = -1;        // sysfs numa_node (fixed by the slot): -1 when the platform has none
    /// "card 0 (0000:3b:00.0)": how messages and events name it.
    std::string label() const { return "card " + std::to_string(index) + " (" + pciAddress + ")"; }
    /// "card 0 (0000:3b:00.0) VF 2".
    std::string vfLabel(unsigned vf) const { return label() + " VF " + std::to_string(vf); }
};

struct VfSnapshot {
    unsigned card = 0;
    unsigned index = 0;
    std::string pciAddress;
    std::string driver;
    std::optional<uint32_t> iommuGroup;
    std::optional<Resources> resources;  // provisioned share of the card (vendor ABI)
    std::optional<VfStatus> status;      // state, workload and counters (vendor ABI)
    Health health = Health::Ok;
    std::vector<std::string> healthReasons;
    std::string profile;  // what aismid provisioned it with ("" for none)
    std::string tenant;
    bool stalled = false;      // runs a workload that made no progress for some polls (the health assessor)
    uint32_t guardResetsLeft = 0;  // automatic resets its guard still allows in the window (the recovery service)
    std::vector<VfConsumer> consumers;  // who holds it (vf_consumer.hpp), at most one of each kind, in kind order
    // The assignment service:
    bool scrubPending = false;  // a tenant's data may still be in its memory: nobody gets it until scrubbed
    std::vector<std::string> assignmentProblems;  // conflicts with libvirt (health reasons)

    /// Hung: says so, or runs without making progress.
    bool hung() const { return stalled || state() == VfState::Hung; }

    /// Its consumer of `kind`, if it has one.
    const VfConsumer* consumer(ConsumerKind kind) const {
        auto it = std::find_if(consumers.begin(), consumers.end(), [&](const VfConsumer& c) { return c.kind == kind; });
        return it == consumers.end() ? nullptr : &*it;
    }
    /// Makes `c` its consumer of c.kind, in place of any other of that kind.
    void setConsumer(VfConsumer c) {
        clearConsumer(c.kind);
        auto at = std::find_if(consumers.begin(), consumers.end(), [&](const VfConsumer& o) { return o.kind > c.kind; });
        consumers.insert(at, std::move(c));
    }
    void clearConsumer(ConsumerKind kind) {
        std::erase_if(consumers, [&](const VfConsumer& c) { return c.kind == kind; });
    }
    /// The first consumer that uses it for a workload of its own (a VM, a pod), if any.
    const VfConsumer* user() const {
        auto it = std::find_if(consumers.begin(), consumers.end(), [](const VfConsumer& c) { return c.usesTheVf(); });
        return it == consumers.end() ? nullptr : &*it;
    }
    /// UsedBy: each consumer's token(), in kind order.
    std::vector<std::string> usedBy() const {
        std::vector<std::string> out;
        for (const auto& c : consumers) out.push_back(c.token());
        return out;
    }
    // The older bus properties, each from its kind.
    std::string domain() const { return nameOf(ConsumerKind::Domain); }
    std::string assignment() const { return stateOf(ConsumerKind::Domain); }  // "", "assigning", "assigned" or "releasing"
    std::string holder() const { return nameOf(ConsumerKind::Holder); }
    bool quarantined() const { return consumer(ConsumerKind::Quarantine) != nullptr; }
    std::string quarantineReason() const { return stateOf(ConsumerKind::Quarantine); }

    std::optional<VfState> state() const { return status ? std::optional(status->state) : std::nullopt; }
    bool operator==(const VfSnapshot&) const = default;

private:
    std::string nameOf(ConsumerKind kind) const {
        const VfConsumer* c = consumer(kind);
        return c ? c->name : std::string();
    }
    std::string stateOf(ConsumerKind kind) const {
        const VfConsumer* c = consumer(kind);
        return c ? c->state : std::string();
    }
};

struct CardSnapshot {
    CardInfo info;
    std::string driver;
    CardTelemetry telemetry;
    std::optional<FirmwareState> firmware;
    std::optional<Resources> capacity;  // compute units and engines (vendor ABI)
    Oversubscription policy;            // what aismid admits to it (the policy service keeps it)
    uint32_t vfTotal = 0;               // 0: no SR-IOV
    std::vector<VfSnapshot> vfs;        // the enabled VFs, by index

    // What the reader found; the health assessor turns it into health and reasons.
    bool lost = false;                     // config space reads all ones or cannot be read
    std::string lostReason;                // why, when it is not "reads all ones"
    std::optional<unsigned> desiredVfs;    // what an operator asked for, when no change is under way
    std::vector<std::string> readProblems;  // attributes that could not be read
    std::vector<std::string> configProblems;  // what is wrong with what was declared for it (layouts.d)
    int64_t readAtUs = 0;                  // when this reading was taken (unix microseconds)
    std::string staleReason;               // set when no fresh reading came in time: the values are old
    Health health = Health::Ok;
    std::vector<std::string> healthReasons;
    Thermal thermal = Thermal::Normal;

    uint32_t vfEnabled() const { return static_cast<uint32_t>(vfs.size()); }
};

}  // namespace aismi
