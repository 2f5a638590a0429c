// Who holds a VF, as libvirt says "used by": one concept for every kind of consumer. A VF has
// at most one consumer of each kind; a new claim (assign, hold, provision) is refused while a
// consumer that excludes it holds the VF. Each service sets only its own kinds, at every poll
// (the assignment service domains and holders, the recovery service quarantine). A new kind of
// consumer (say a DRA driver) is one more enumerator and its words here.
#pragma once

#include <string>
#include <string_view>

namespace aismi {

enum class ConsumerKind {
    Domain,      // a libvirt domain: name = the domain; state = assigning, assigned or releasing
    Holder,      // a node agent holding it for a pod: name = who ("kubelet")
    Quarantine,  // out of use after too many automatic resets, or by an operator: state = why
};

struct VfConsumer {
    ConsumerKind kind = ConsumerKind::Domain;
    std::string name;
    std::string state;
    bool operator==(const VfConsumer&) const = default;

    /// Whether it has the VF for a workload of its own (a VM, a pod): the VF is in use, and a
    /// change that takes VFs away (disable, card reset, firmware activation) would take it.
    bool usesTheVf() const { return kind != ConsumerKind::Quarantine; }
    /// "domain:web", "holder:kubelet", "quarantine": VirtualFunction1.UsedBy's words.
    std::string token() const {
        switch (kind) {
        case ConsumerKind::Domain: return "domain:" + name;
        case ConsumerKind::Holder: return "holder:" + name;
        case ConsumerKind::Quarantine: return "quarantine";
        }
        return name;
    }
    /// "assigned to domain web", "held by kubelet", "quarantined (3 resets in 600 s)".
    std::string describe() const {
        switch (kind) {
        case ConsumerKind::Domain: return "assigned to domain " + name;
        case ConsumerKind::Holder: return "held by " + name;
        case ConsumerKind::Quarantine: return "quarantined (" + state + ")";
        }
        return name;
    }
};

}  // namespace aismi
