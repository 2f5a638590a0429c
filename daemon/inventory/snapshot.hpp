// What aismid knows of a card at one poll: a read model with optional values and enums.
// "Not reported" is std::nullopt here; the D-Bus conventions (NaN, integer maxima, strings)
// are applied at the bus edge only (daemon/bus/wire.hpp).
#pragma once

#include <aismi/card.hpp>
#include <aismi/types.hpp>

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
    bool quarantined = false;  // taken out of use after too many automatic resets (the recovery service)
    uint32_t guardResetsLeft = 0;  // automatic resets its guard still allows in the window (the recovery service)
    // The assignment service:
    std::string domain;      // the libvirt domain it is given to ("" for none)
    std::string assignment;  // "", "assigning", "assigned" or "releasing"
    std::string holder;      // who else holds it ("kubelet"), "" for nobody
    bool scrubPending = false;  // a tenant's data may still be in its memory: nobody gets it until scrubbed
    std::vector<std::string> assignmentProblems;  // conflicts with libvirt (health reasons)
    std::string quarantineReason;  // why it is quarantined (the recovery policy's words or an operator's), "" when it is not

    /// Hung: says so, or runs without making progress.
    bool hung() const { return stalled || state() == VfState::Hung; }

    std::optional<VfState> state() const { return status ? std::optional(status->state) : std::nullopt; }
    bool operator==(const VfSnapshot&) const = default;
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
