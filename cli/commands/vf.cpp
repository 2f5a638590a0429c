#include "vf.hpp"

#include "client_api.hpp"
#include "command_parsing.hpp"
#include "render.hpp"
#include "selection.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/text.hpp>

#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kVfUsage = R"(Usage: aismi vf list [-i ID[,ID...]] [--domain NAME] [-j]
       aismi vf enable -i ID --count N [--force]
       aismi vf disable -i ID [--force]
       aismi vf provision CARD:VF --profile NAME [--tenant TENANT]
       aismi vf unprovision CARD:VF
       aismi vf reset CARD:VF [--force]
       aismi vf quarantine CARD:VF [--reason TEXT]
       aismi vf unquarantine CARD:VF
       aismi vf bind CARD:VF --driver vfio-pci|host
       aismi vf assign CARD:VF --domain NAME [--tenant TENANT]
       aismi vf release CARD:VF

Lists SR-IOV virtual functions (of cards named by index, PCI address or serial, or single
VFs as CARD:VF or by PCI address), enables N of a card's VFs, or disables them all. The
kernel changes the count only from 0: disable before enabling a different number. VFs in use
(provisioned for a tenant, or bound to vfio-pci) stop it unless --force. Enabling shows its
progress on a terminal.

provision gives one VF a profile's resources (aismi profile list shows them and what fits),
for a tenant if given; unprovision takes them back (the VF stays, holding nothing). Neither
touches the card's other VFs; a VF with a running workload or bound to vfio-pci is refused.

reset gives one VF a function-level reset — never a bus or card reset, so its neighbours keep
running — and checks that it answers as itself again with its provisioning; a VF with a
running workload or bound to vfio-pci needs --force. aismid resets a hung VF by itself, at
most N times in a window (aismid.conf reset-guard); past that it quarantines the VF: not reset
automatically, not provisioned, until unquarantine releases it. quarantine takes a VF out of
use by hand the same way.

bind hands a VF to vfio-pci (its IOMMU group must be viable) or back to the driver the kernel
picks (host), as virsh nodedev-detach and nodedev-reattach do; refused while it is assigned.
assign gives a provisioned, free VF to a libvirt domain for a tenant (--tenant, else the
domain's metadata, else the VF's provisioning) within the tenant's quota: it binds it to
vfio-pci and adds a <hostdev managed='no'> to the domain, live and persistent as the domain
is; any failure undoes every step. release takes it back from the domain, resets and scrubs
it so nothing passes to the next tenant, and returns it to its host driver. A domain that
stops has its VFs scrubbed; one that is undefined frees them. vf list shows each VF's domain
(--domain: only that domain's VFs). docs/libvirt.md.

)";

constexpr unsigned kMaxVfCount = 65535;

// Said after a change that was made, when the VF is no longer there to describe (its card lost
// its VFs, or their count changed, between the change and the answer): not an error.
std::string goneSince(const std::string& target) {
    return "VF " + target + ": done, and it is not on its card any more (the card's VFs changed meanwhile)\n";
}

Result<void> list(const VfListRequest& r, Session& s) {
    auto client = s.client();
    if (!client) return std::move(client).error();
    Inventory inv;
    if (auto x = (*client)->query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial"}, inv.cards); !x) return std::move(x).error();
    if (auto x = (*client)->query(bus_names::kVfInterface, {}, inv.vfs); !x) return std::move(x).error();
    auto vfs = selectVfs(inv, r.ids);
    if (!vfs) return std::move(vfs).error();
    if (!r.domain.empty()) std::erase_if(*vfs, [&](const BusObject* vf) { return vf->text("Domain") != r.domain; });
    std::vector<const Field*> all;
    for (const auto& f : vfFields()) all.push_back(&f);
    s.out << (r.json ? renderJsonRows(*vfs, all) : renderVfTable(*vfs, r.domain.empty() ? "No VFs enabled" : "No VFs assigned to domain " + r.domain));
    return {};
}

Result<void> changeCount(const VfCountRequest& r, Session& s) {
    auto client = s.client();
    if (!client) return std::move(client).error();
    // Selection and the result table need only summary columns: no full property read.
    auto inv = (*client)->fetchSummary();
    if (!inv) return std::move(inv).error();
    auto cards = selectCards(*inv, {r.card});
    if (!cards) return std::move(cards).error();
    const BusObject& card = *cards->front();
    // A progress line on a terminal; nothing when stderr is a file or a pipe.
    const bool tty = ::isatty(STDERR_FILENO) == 1 && &s.err == &std::cerr;
    const std::string what = r.count ? "enabling " + text::counted(r.count, "VF") : "disabling VFs";
    auto done = (*client)->setVfCount(
        card.path, r.count,
        [&](unsigned percent) {
            if (tty) s.err << "\r" << what << " on card " << card.number("Index") << ": " << percent << "%" << std::flush;
        },
        r.force);
    if (tty) s.err << "\r\033[K" << std::flush;
    if (!done) return std::move(done).error();
    // aismid finished the job after reading the device back; show what it reports now.
    auto after = (*client)->fetchSummary();
    if (!after) return std::move(after).error();
    auto again = selectCards(*after, {std::to_string(card.number("Index"))});
    if (!again) return std::move(again).error();
    const BusObject& now = *again->front();
    s.out << "card " << now.number("Index") << " (" << now.text("PciAddress") << "): " << now.number("VfEnabled") << " of " << now.number("VfTotal")
          << " VFs enabled\n";
    if (r.count) s.out << renderVfTable(vfsOf(*after, *again));
    return {};
}

Result<std::string> reset(DaemonClient& client, const VfResetRequest& r) {
    auto path = client.findVf(r.vf);
    if (!path) return std::move(path).error();
    auto took = client.resetVf(*path, r.force);
    if (!took) return std::move(took).error();
    auto vf = describeVf(client, *path, r.vf);
    if (!vf) return std::move(vf).error();
    char line[96];
    std::snprintf(line, sizeof line, "function-level reset in %.1f ms; its neighbours were not touched\n", static_cast<double>(*took) / 1000);
    return *vf + line;
}

Result<std::string> quarantine(DaemonClient& client, const VfQuarantineRequest& r) {
    auto path = client.findVf(r.vf);
    if (!path) return std::move(path).error();
    if (auto q = client.quarantine(*path, r.reason); !q) return std::move(q).error();
    auto vf = describeVf(client, *path, r.vf);
    if (!vf) return std::move(vf).error();
    return *vf + "quarantined: not reset automatically nor provisioned until 'aismi vf unquarantine " + r.vf + "'\n";
}

Result<std::string> unquarantine(DaemonClient& client, const VfRequest& r) {
    auto path = client.findVf(r.vf);
    if (!path) return std::move(path).error();
    if (auto u = client.unquarantine(*path); !u) return std::move(u).error();
    auto vf = describeVf(client, *path, r.vf);
    if (!vf) return std::move(vf).error();
    return *vf + "released from quarantine: aismid resets it automatically again when it hangs\n";
}

// After bind, assign or release: the VF's domain and driver as aismid reports them now.
Result<std::string> driverAndDomain(DaemonClient& client, const std::string& path, const std::string& target, bool released) {
    std::vector<BusObject> vfs;
    if (auto q = client.query(bus_names::kVfInterface, {"CardIndex", "Index", "PciAddress", "Driver", "Domain", "Tenant", "ScrubPending"}, vfs); !q)
        return std::move(q).error();
    for (const auto& vf : vfs) {
        if (vf.path != path) continue;
        std::ostringstream out;
        out << "VF " << vf.number("CardIndex") << ":" << vf.number("Index") << " (" << vf.text("PciAddress") << "): ";
        if (!vf.text("Domain").empty())
            out << "assigned to domain '" << vf.text("Domain") << "'" << (vf.text("Tenant").empty() ? "" : " for tenant " + vf.text("Tenant")) << ", ";
        else if (released)
            out << "released, reset and scrubbed, ";
        out << "bound to " << (vf.text("Driver").empty() ? "no driver" : vf.text("Driver")) << "\n";
        return out.str();
    }
    return goneSince(target);
}

Result<std::string> bind(DaemonClient& client, const VfBindRequest& r) {
    auto path = client.findVf(r.vf);
    if (!path) return std::move(path).error();
    if (auto done = client.bindDriver(*path, r.driver); !done) return std::move(done).error();
    return driverAndDomain(client, *path, r.vf, false);
}

Result<std::string> assign(DaemonClient& client, const VfAssignRequest& r) {
    auto path = client.findVf(r.vf);
    if (!path) return std::move(path).error();
    if (auto done = client.assign(*path, r.domain, r.tenant); !done) return std::move(done).error();
    return driverAndDomain(client, *path, r.vf, false);
}

Result<std::string> release(DaemonClient& client, const VfRequest& r) {
    auto path = client.findVf(r.vf);
    if (!path) return std::move(path).error();
    if (auto done = client.release(*path); !done) return std::move(done).error();
    return driverAndDomain(client, *path, r.vf, true);
}

Result<Command> parseList(const CommandLine& c) {
    VfListRequest r;
    r.json = c.has("json");
    if (c.has("domain")) {
        r.domain = c.text("domain");
        if (r.domain.empty()) return usage("--domain needs a libvirt domain name", "aismi vf --help");
    }
    auto selected = ids(c);
    if (!selected) return std::move(selected).error();
    r.ids = *selected;
    return reading(makeCommand("vf list", r, list), r.json);
}

Result<Command> parseEnable(const CommandLine& c) {
    auto card = oneCard(c, "enable");
    if (!card) return std::move(card).error();
    if (!c.has("count")) return usage("vf enable needs --count N", "aismi vf --help");
    if (c.text("count") == "0") return usage("vf enable --count must be at least 1; use 'aismi vf disable' to disable VFs", "aismi vf --help");
    auto n = number(c.text("count"), "--count", 1, kMaxVfCount, "aismi vf --help");
    if (!n) return std::move(n).error();
    return makeCommand("vf enable", VfCountRequest{*card, *n, c.has("force")}, changeCount);
}

Result<Command> parseDisable(const CommandLine& c) {
    auto card = oneCard(c, "disable");
    if (!card) return std::move(card).error();
    return makeCommand("vf disable", VfCountRequest{*card, 0, c.has("force")}, changeCount);
}

// The request R of a command on one VF, with its VF.
template <class R>
Result<R> vfRequest(const CommandLine& c, const std::string& verb) {
    auto vf = oneVf(c, verb);
    if (!vf) return std::move(vf).error();
    R r;
    r.vf = *vf;
    return r;
}

Result<Command> parseReset(const CommandLine& c) {
    auto r = vfRequest<VfResetRequest>(c, "reset");
    if (!r) return std::move(r).error();
    r->force = c.has("force");
    return makeCommand("vf reset", *r, reset);
}

Result<Command> parseQuarantine(const CommandLine& c) {
    auto r = vfRequest<VfQuarantineRequest>(c, "quarantine");
    if (!r) return std::move(r).error();
    if (c.has("reason")) {
        r->reason = c.text("reason");
        if (text::trim(r->reason).empty() || r->reason.size() > 200)
            return usage("--reason takes one line of 1 to 200 characters, not only spaces", "aismi vf --help");
    }
    return makeCommand("vf quarantine", *r, quarantine);
}

Result<Command> parseUnquarantine(const CommandLine& c) {
    auto r = vfRequest<VfRequest>(c, "unquarantine");
    if (!r) return std::move(r).error();
    return makeCommand("vf unquarantine", *r, unquarantine);
}

Result<Command> parseBind(const CommandLine& c) {
    auto r = vfRequest<VfBindRequest>(c, "bind");
    if (!r) return std::move(r).error();
    if (!c.has("driver")) return usage("vf bind needs --driver vfio-pci or --driver host", "aismi vf --help");
    r->driver = c.text("driver");
    if (r->driver != "vfio-pci" && r->driver != "host") return usage("--driver takes vfio-pci or host, not " + quoteInput(r->driver), "aismi vf --help");
    return makeCommand("vf bind", *r, bind);
}

Result<Command> parseAssign(const CommandLine& c) {
    auto r = vfRequest<VfAssignRequest>(c, "assign");
    if (!r) return std::move(r).error();
    if (!c.has("domain") || c.text("domain").empty()) return usage("vf assign needs --domain NAME (a libvirt domain)", "aismi vf --help");
    r->domain = c.text("domain");
    if (c.has("tenant")) {
        r->tenant = c.text("tenant");
        if (r->tenant.empty()) return usage("--tenant needs a name", "aismi vf --help");
    }
    return makeCommand("vf assign", *r, assign);
}

Result<Command> parseRelease(const CommandLine& c) {
    auto r = vfRequest<VfRequest>(c, "release");
    if (!r) return std::move(r).error();
    return makeCommand("vf release", *r, release);
}

po::options_description vfOptions() {
    po::options_description o("vf options");
    o.add_options()
        ("count,c", po::value<std::string>()->value_name("N"), "number of VFs to enable (vf enable)")
        ("force", "vf disable: disable VFs in use too (provisioned for a tenant, running a workload, held or bound to vfio-pci); "
                  "vf enable: accepted, and changes nothing (VFs are enabled only from 0, where none is in use); "
                  "vf reset: reset it also with a workload running or bound to vfio-pci")
        ("profile", po::value<std::string>()->value_name("NAME"), "the profile to provision with (vf provision)")
        ("tenant", po::value<std::string>()->value_name("TENANT"), "whom the VF is provisioned for (vf provision) or assigned for (vf assign)")
        ("driver", po::value<std::string>()->value_name("DRIVER"), "vfio-pci, or host: the driver the kernel picks (vf bind)")
        ("domain", po::value<std::string>()->value_name("NAME"), "the libvirt domain (vf assign); only the VFs of that domain (vf list)")
        ("reason", po::value<std::string>()->value_name("TEXT"), "why the VF is taken out of use (vf quarantine)");
    return o;
}

}  // namespace

// The VF as the device reports it now (aismid read it back before answering).
Result<std::string> describeVf(DaemonClient& client, const std::string& path, const std::string& target) {
    std::vector<BusObject> vfs;
    if (auto r = client.query(bus_names::kVfInterface, {"CardIndex", "Index", "PciAddress", "Profile", "Tenant", "ComputeUnits", "MemoryMiB", "Engines"}, vfs); !r)
        return std::move(r).error();
    for (const auto& vf : vfs) {
        if (vf.path != path) continue;
        std::ostringstream out;
        out << "VF " << vf.number("CardIndex") << ":" << vf.number("Index") << " (" << vf.text("PciAddress") << "): ";
        if (vf.text("Profile").empty()) out << "unprovisioned";
        else out << "profile " << vf.text("Profile") << (vf.text("Tenant").empty() ? "" : " for tenant " + vf.text("Tenant"));
        out << ", " << text::counted(vf.number("ComputeUnits"), "compute unit") << ", " << vf.number("MemoryMiB") << " MiB, "
            << text::counted(vf.number("Engines"), "engine") << "\n";
        return out.str();
    }
    return goneSince(target);
}

CommandSet vfCommands() {
    return {{
                {{"vf", "list"}, {"id", "json", "domain"}, parseList},
                {{"vf", "enable"}, {"id", "count", "force"}, parseEnable},
                {{"vf", "disable"}, {"id", "force"}, parseDisable},
                {{"vf", "reset"}, {"force"}, parseReset, true},
                {{"vf", "unquarantine"}, {}, parseUnquarantine, true},
                {{"vf", "quarantine"}, {"reason"}, parseQuarantine, true},
                {{"vf", "bind"}, {"driver"}, parseBind, true},
                {{"vf", "assign"}, {"domain", "tenant"}, parseAssign, true},
                {{"vf", "release"}, {}, parseRelease, true},
            },
            {{"vf", kVfUsage,
              [] {
                  return "  -i [ --id ] ID        card index, PCI address or serial (vf list: also VFs)\n"
                         "  -j [ --json ]         JSON output (vf list)\n" +
                         optionLines(vfOptions());
              },
              "list, enable, disable, provision, unprovision, reset, quarantine, unquarantine, bind, assign or release",
              "vf list|enable|disable|provision|unprovision|reset|quarantine|unquarantine|bind|assign|release\n                             manage "
              "SR-IOV virtual functions (aismi vf --help)"}},
            [](po::options_description& o) { o.add(vfOptions()); }};
}

}  // namespace aismi::cli
