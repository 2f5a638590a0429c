// aismi vf provision|unprovision and aismi profile list.
#include "provisioning.hpp"

#include "client_api.hpp"
#include "json.hpp"
#include "render.hpp"
#include "selection.hpp"

#include <aismi/text.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace aismi::cli {
namespace {

std::string mib(uint64_t m) { return std::to_string(m) + " MiB"; }

// Said after a change that was made, when the VF is no longer there to describe (its card lost
// its VFs, or their count changed, between the change and the answer): not an error.
std::string goneSince(const std::string& target) {
    return "VF " + target + ": done, and it is not on its card any more (the card's VFs changed meanwhile)\n";
}

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
        out << ", " << text::counted(vf.number("ComputeUnits"), "compute unit") << ", " << mib(vf.number("MemoryMiB")) << ", "
            << text::counted(vf.number("Engines"), "engine") << "\n";
        return out.str();
    }
    return goneSince(target);
}

Result<std::string> changeVf(DaemonClient& client, const CliRequest& r) {
    auto path = client.findVf(r.target);
    if (!path) return std::move(path).error();
    if (r.mode == CliRequest::Mode::VfQuarantine) {
        if (auto q = client.quarantine(*path, r.reason); !q) return std::move(q).error();
        auto vf = describeVf(client, *path, r.target);
        if (!vf) return std::move(vf).error();
        return *vf + "quarantined: not reset automatically nor provisioned until 'aismi vf unquarantine " + r.target + "'\n";
    }
    if (r.mode == CliRequest::Mode::VfUnquarantine) {
        if (auto u = client.unquarantine(*path); !u) return std::move(u).error();
        auto vf = describeVf(client, *path, r.target);
        if (!vf) return std::move(vf).error();
        return *vf + "released from quarantine: aismid resets it automatically again when it hangs\n";
    }
    if (r.mode == CliRequest::Mode::VfBind || r.mode == CliRequest::Mode::VfAssign || r.mode == CliRequest::Mode::VfRelease) {
        auto done = r.mode == CliRequest::Mode::VfBind     ? client.bindDriver(*path, r.driver)
                    : r.mode == CliRequest::Mode::VfAssign ? client.assign(*path, r.domain, r.tenant)
                                                           : client.release(*path);
        if (!done) return std::move(done).error();
        std::vector<BusObject> vfs;
        if (auto q = client.query(bus_names::kVfInterface, {"CardIndex", "Index", "PciAddress", "Driver", "Domain", "Tenant", "ScrubPending"}, vfs); !q)
            return std::move(q).error();
        for (const auto& vf : vfs) {
            if (vf.path != *path) continue;
            std::ostringstream out;
            out << "VF " << vf.number("CardIndex") << ":" << vf.number("Index") << " (" << vf.text("PciAddress") << "): ";
            if (!vf.text("Domain").empty())
                out << "assigned to domain '" << vf.text("Domain") << "'" << (vf.text("Tenant").empty() ? "" : " for tenant " + vf.text("Tenant")) << ", ";
            else if (r.mode == CliRequest::Mode::VfRelease)
                out << "released, reset and scrubbed, ";
            out << "bound to " << (vf.text("Driver").empty() ? "no driver" : vf.text("Driver")) << "\n";
            return out.str();
        }
        return goneSince(r.target);
    }
    if (r.mode == CliRequest::Mode::VfReset) {
        auto took = client.resetVf(*path, r.force);
        if (!took) return std::move(took).error();
        auto vf = describeVf(client, *path, r.target);
        if (!vf) return std::move(vf).error();
        char line[96];
        std::snprintf(line, sizeof line, "function-level reset in %.1f ms; its neighbours were not touched\n", static_cast<double>(*took) / 1000);
        return *vf + line;
    }
    auto done = r.mode == CliRequest::Mode::VfProvision ? client.provision(*path, r.profile, r.tenant) : client.unprovision(*path);
    if (!done) return std::move(done).error();
    return describeVf(client, *path, r.target);
}

Result<std::string> listProfiles(DaemonClient& client, const CliRequest& r) {
    Inventory inv;
    if (auto q = client.query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial"}, inv.cards); !q) return std::move(q).error();
    auto cards = selectCards(inv, r.ids);
    if (!cards) return std::move(cards).error();
    std::ostringstream out;
    std::string json = "[";
    bool first = true;
    for (const BusObject* card : *cards) {
        auto profiles = client.listProfiles(card->path);
        if (!profiles) return std::move(profiles).error();
        if (!r.json) {
            out << "card " << card->number("Index") << " (" << card->text("PciAddress") << ")\n";
            out << "  " << "Profile" << std::string(11, ' ') << "Compute units  Burst to  Weight      Memory  Engines  Fits now\n";
        }
        for (const auto& p : *profiles) {
            if (r.json) {
                json += first ? "\n " : ",\n ";
                first = false;
                json += "{\"card\": " + std::to_string(card->number("Index")) + ", \"profile\": " + json::quote(p.name);
                if (p.never.empty())
                    json += ", \"compute_units\": " + std::to_string(p.computeUnits) + ", \"burst_units\": " + std::to_string(p.burstUnits) +
                            ", \"weight\": " + std::to_string(p.weight) + ", \"memory_mib\": " + std::to_string(p.memoryMib) +
                            ", \"engines\": " + std::to_string(p.engines) + ", \"fits_now\": " + std::to_string(p.more) + ", \"never_fits\": null}";
                else
                    json += ", \"compute_units\": null, \"burst_units\": null, \"weight\": null, \"memory_mib\": null, \"engines\": null, "
                            "\"fits_now\": 0, \"never_fits\": " + json::quote(p.never) + "}";
                continue;
            }
            std::string name = p.name.size() > 16 ? p.name.substr(0, 15) + "~" : p.name;
            out << "  " << name << std::string(18 - name.size(), ' ');
            if (!p.never.empty()) {
                out << "never fits: " << p.never << "\n";
                continue;
            }
            const auto right = [&](const std::string& v, size_t width) { out << std::string(width - std::min(width, v.size()), ' ') << v; };
            right(std::to_string(p.computeUnits), 13);
            right(std::to_string(p.burstUnits), 10);
            right(std::to_string(p.weight), 8);
            right(mib(p.memoryMib), 12);
            right(std::to_string(p.engines), 9);
            right(std::to_string(p.more), 10);
            out << "\n";
        }
    }
    if (r.json) return json + (first ? "]\n" : "\n]\n");
    return out.str();
}

std::string limitText(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

Result<std::string> quotas(DaemonClient& client, const CliRequest& r) {
    if (r.mode == CliRequest::Mode::QuotaSet) {
        if (auto s = client.updateQuota(r.tenant, {r.maxVfs, r.maxComputeUnits, r.maxMemoryMib}); !s) return std::move(s).error();
    } else if (r.mode == CliRequest::Mode::QuotaRemove) {
        if (auto s = client.removeQuota(r.tenant); !s) return std::move(s).error();
        return "tenant " + r.tenant + ": quota removed\n";
    }
    auto rows = client.listQuotas();
    if (!rows) return std::move(rows).error();
    std::vector<DaemonClient::QuotaRow> shown;
    for (auto& q : *rows)
        if (r.tenant.empty() || q.tenant == r.tenant) shown.push_back(q);
    if (!r.tenant.empty() && shown.empty()) return makeError(Errc::NotFound, "tenant '" + r.tenant.substr(0, 64) + "' has no quota");
    if (r.json) {
        std::string json = "[";
        for (size_t i = 0; i < shown.size(); ++i) {
            const auto& q = shown[i];
            const auto num = [](const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : std::string("null"); };
            json += (i ? ",\n " : "\n ") + std::string("{\"tenant\": ") + json::quote(q.tenant) + ", \"max_vfs\": " + std::to_string(q.maxVfs) +
                    ", \"max_compute_units\": " + num(q.maxComputeUnits) + ", \"max_memory_mib\": " + num(q.maxMemoryMib) +
                    ", \"vfs\": " + std::to_string(q.vfs) + ", \"compute_units\": " + std::to_string(q.computeUnits) +
                    ", \"memory_mib\": " + std::to_string(q.memoryMib) + "}";
        }
        return json + (shown.empty() ? "]\n" : "\n]\n");
    }
    std::ostringstream out;
    if (shown.empty()) return std::string("No quotas set\n");
    out << "Tenant            VFs (used/max)   Compute units (used/max)   Memory MiB (used/max)\n";
    for (const auto& q : shown) {
        std::string name = q.tenant.size() > 16 ? q.tenant.substr(0, 15) + "~" : q.tenant;
        const std::string vfs = std::to_string(q.vfs) + "/" + std::to_string(q.maxVfs);
        const std::string cu = std::to_string(q.computeUnits) + "/" + limitText(q.maxComputeUnits);
        const std::string mem = std::to_string(q.memoryMib) + "/" + limitText(q.maxMemoryMib);
        out << name << std::string(18 - name.size(), ' ') << vfs << std::string(17 - std::min<size_t>(17, vfs.size()), ' ') << cu
            << std::string(27 - std::min<size_t>(27, cu.size()), ' ') << mem << "\n";
    }
    return out.str();
}

// The card a partition command works on (its path and index, from the ids given).
Result<const BusObject*> oneCardOf(const Inventory& inv, const CliRequest& r) {
    auto cards = selectCards(inv, r.ids);
    if (!cards) return std::move(cards).error();
    return cards->front();
}

Result<std::string> showPartition(DaemonClient& client, const BusObject& card, bool json) {
    std::vector<BusObject> vfs;
    if (auto q = client.query(bus_names::kVfInterface, {"CardIndex", "Index", "PciAddress", "Profile", "Tenant", "ComputeUnits", "BurstComputeUnits", "Weight", "MemoryMiB", "Engines"}, vfs); !q)
        return std::move(q).error();
    auto profiles = client.listProfiles(card.path);
    if (!profiles) return std::move(profiles).error();
    std::ostringstream out;
    std::string doc = "[";
    bool first = true;
    if (!json) out << "card " << card.number("Index") << " (" << card.text("PciAddress") << ")\n  VF     Profile           Tenant           Device holds                          State\n";
    for (const auto& vf : vfs) {
        if (vf.number("CardIndex") != card.number("Index")) continue;
        const std::string& profile = vf.text("Profile");
        // As desired when the device holds the profile's shape (or nothing, for an emptied VF).
        std::string state = "as desired";
        if (!profile.empty()) {
            for (const auto& p : *profiles)
                if (p.name == profile && (p.computeUnits != vf.number("ComputeUnits") || p.burstUnits != vf.number("BurstComputeUnits") ||
                                          p.weight != vf.number("Weight") || p.memoryMib != vf.number("MemoryMiB") || p.engines != vf.number("Engines")))
                    state = "differs from the profile";
        } else if (vf.number("ComputeUnits") != 0) {
            state = "no profile (driver's share)";
        } else {
            state = "empty";
        }
        const uint64_t burst = vf.number("BurstComputeUnits");
        const std::string holds = std::to_string(vf.number("ComputeUnits")) + (burst > vf.number("ComputeUnits") ? "-" + std::to_string(burst) : "") +
                                  " CUs, " + std::to_string(vf.number("MemoryMiB")) + " MiB, " + text::counted(vf.number("Engines"), "engine");
        if (json) {
            doc += std::string(first ? "\n " : ",\n ") + "{\"card\": " + std::to_string(vf.number("CardIndex")) + ", \"vf\": " +
                   std::to_string(vf.number("Index")) + ", \"profile\": " + json::quote(profile) + ", \"tenant\": " + json::quote(vf.text("Tenant")) +
                   ", \"compute_units\": " + std::to_string(vf.number("ComputeUnits")) + ", \"burst_units\": " + std::to_string(burst) +
                   ", \"weight\": " + std::to_string(vf.number("Weight")) + ", \"memory_mib\": " + std::to_string(vf.number("MemoryMiB")) +
                   ", \"engines\": " + std::to_string(vf.number("Engines")) + ", \"state\": " + json::quote(state) + "}";
            first = false;
            continue;
        }
        const std::string id = std::to_string(vf.number("CardIndex")) + ":" + std::to_string(vf.number("Index"));
        const auto col = [](const std::string& t, size_t w) { return t.size() >= w ? t.substr(0, w - 1) + " " : t + std::string(w - t.size(), ' '); };
        out << "  " << col(id, 7) << col(profile.empty() ? "-" : profile, 18) << col(vf.text("Tenant").empty() ? "-" : vf.text("Tenant"), 17)
            << col(holds, 38) << state << "\n";
    }
    if (json) return doc + (first ? "]\n" : "\n]\n");
    return out.str();
}

// The card's layout as a layouts.d section: consecutive VFs of one profile become COUNTxPROFILE.
Result<std::string> exportPartition(DaemonClient& client, const BusObject& card) {
    std::vector<BusObject> vfs;
    if (auto q = client.query(bus_names::kVfInterface, {"CardIndex", "Index", "Profile"}, vfs); !q) return std::move(q).error();
    std::string layout, last;
    unsigned run = 0;
    const auto flush = [&] {
        if (run) layout += (layout.empty() ? "" : ",") + std::to_string(run) + "x" + last;
    };
    for (const auto& vf : vfs) {
        if (vf.number("CardIndex") != card.number("Index")) continue;
        const std::string& profile = vf.text("Profile");
        if (profile.empty())
            return makeError(Errc::InvalidState, "VF " + std::to_string(card.number("Index")) + ":" + std::to_string(vf.number("Index")) +
                                                     " has no profile; a layout gives every VF one (aismi partition apply)");
        if (profile != last) {
            flush();
            last = profile;
            run = 0;
        }
        ++run;
    }
    flush();
    if (layout.empty()) return makeError(Errc::InvalidState, "card " + std::to_string(card.number("Index")) + " has no VFs to export");
    const std::string serial = card.text("Serial");
    return "# card " + std::to_string(card.number("Index")) + " (" + card.text("PciAddress") + "), exported by aismi partition export\n[layout card-" +
           serial + "]\ncards = serial:" + serial + "\nlayout = " + layout + "\n";
}

// A layout file: COUNTxPROFILE items, comma or newline separated, '#' comments; the items
// joined with commas (aismid checks them as it checks a LAYOUT word).
Result<std::string> readLayoutFile(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return makeError(Errc::FileUnreadable, "--file: cannot read " + path + ": " + (ec ? ec.message() : std::string("not a regular file")));
    std::ifstream in(path);
    if (!in) return makeError(Errc::FileUnreadable, "--file: cannot read " + path + ": " + std::strerror(errno));
    std::string layout, line;
    size_t bytes = 0;
    while (std::getline(in, line)) {
        if ((bytes += line.size() + 1) > 65536) return makeError(Errc::InvalidArgument, "--file " + path + ": larger than 64 KiB, not a layout");
        line = line.substr(0, line.find('#'));
        for (char& c : line)
            if (c == '\r' || c == '\t') c = ' ';
        const size_t first = line.find_first_not_of(' '), last = line.find_last_not_of(' ');
        if (first == std::string::npos) continue;
        const std::string item = line.substr(first, last - first + 1);
        layout += (layout.empty() || item.front() == ',' || layout.back() == ',' ? "" : ",") + item;
    }
    if (in.bad()) return Error::fromErrno(errno, "--file: cannot read " + path);
    if (layout.empty()) return makeError(Errc::InvalidArgument, "--file " + path + ": holds no layout (COUNTxPROFILE items, e.g. 4xquarter)");
    return layout;
}

Result<std::string> partition(DaemonClient& client, const CliRequest& original, std::ostream& err) {
    CliRequest r = original;
    if (!r.layoutFile.empty()) {
        auto layout = readLayoutFile(r.layoutFile);
        if (!layout) return std::move(layout).error();
        r.layout = *layout;
    }
    Inventory inv;
    if (auto q = client.query(bus_names::kCardInterface, {"Index", "PciAddress", "Serial"}, inv.cards); !q) return std::move(q).error();
    auto card = oneCardOf(inv, r);
    if (!card) return std::move(card).error();
    if (r.mode == CliRequest::Mode::PartitionShow) return showPartition(client, **card, r.json);
    if (r.mode == CliRequest::Mode::PartitionExport) return exportPartition(client, **card);
    if (r.dryRun) {
        auto plan = client.planLayout((*card)->path, r.layout);
        if (!plan) return std::move(plan).error();
        return "would " + *plan;
    }
    // No plan first: aismid authorizes the change, then plans it (the same refusals as
    // --dry-run's), so an unauthorized caller hears "not authorized" before anything else.
    const bool tty = ::isatty(STDERR_FILENO) == 1 && &err == &std::cerr;
    auto done = client.applyLayout((*card)->path, r.layout, [&](unsigned percent) {
        if (tty) err << "\rapplying layout " << r.layout << " on card " << (*card)->number("Index") << ": " << percent << "%" << std::flush;
    });
    if (tty) err << "\r\033[K" << std::flush;
    if (!done) return std::move(done).error();
    auto shown = showPartition(client, **card, false);
    if (!shown) return std::move(shown).error();
    return "layout " + r.layout + " applied\n" + *shown;
}

}  // namespace

Result<std::string> runProvisioning(DaemonClient& client, const CliRequest& r, std::ostream& err) {
    switch (r.mode) {
    case CliRequest::Mode::PartitionApply:
    case CliRequest::Mode::PartitionShow:
    case CliRequest::Mode::PartitionExport: return partition(client, r, err);
    case CliRequest::Mode::ProfileList: return listProfiles(client, r);
    case CliRequest::Mode::QuotaSet:
    case CliRequest::Mode::QuotaShow:
    case CliRequest::Mode::QuotaRemove: return quotas(client, r);
    default: return changeVf(client, r);
    }
}

}  // namespace aismi::cli
