// aismi-chaos's libvirt: a real libvirtd with the test driver (libvirtd.hpp) and a few domains
// the clients assign VFs to, and the world outside aismid that changes them behind its back:
// domains started and stopped, undefined, edited by hand (a hostdev taken out, another put
// in), libvirtd killed and started again (the test driver then starts empty). Conductor
// thread only (virsh runs as a process; nothing here is shared with the clients).
#pragma once

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace aismi::test {
class Libvirtd;
}

namespace aismi::chaos {

class LibvirtWorld {
public:
    /// The domains the clients assign VFs to: defined, stopped, without hostdevs at first.
    static const std::vector<std::string>& domains();

    /// Starts libvirtd (a fatal test failure when it does not come up) and defines domains().
    LibvirtWorld();
    ~LibvirtWorld();
    std::string uri() const;

    /// One change made behind aismid's back, as the commands to paste and what it may change.
    struct Change {
        std::string command;
        std::string outcome;
        // Domains whose VFs aismid may free: undefined, all after a restart, and one edited by
        // hand (its XML is read, changed and defined again: a hostdev aismid attached meanwhile
        // is lost, as it would be to an operator's `virsh edit`).
        std::set<std::string> touched;
        std::string removed, added;    // a hostdev address taken out of, or put into, a domain by hand ("" none)
        bool restarted = false;        // libvirtd was killed and started again
    };
    /// `addresses`: the PCI addresses of aismid's VFs now (an edit may put one in a domain).
    Change step(std::mt19937_64& rng, const std::vector<std::string>& addresses);

    /// Each domain's hostdev addresses ("0000:3b:00.5"), from its live XML (`virsh dumpxml`);
    /// empty when libvirt does not answer.
    std::map<std::string, std::vector<std::string>> hostdevs();
    /// Whether libvirtd answers (`virsh list`).
    bool up();

private:
    void defineEmpty(const std::string& name);
    std::unique_ptr<test::Libvirtd> libvirtd_;
};

/// The hostdev PCI addresses in a domain's XML, as "0000:3b:00.5".
std::vector<std::string> hostdevAddresses(const std::string& xml);

}  // namespace aismi::chaos
