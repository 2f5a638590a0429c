#include "provisioning.hpp"

#include "client_api.hpp"
#include "command_parsing.hpp"
#include "json.hpp"
#include "selection.hpp"
#include "vf.hpp"

#include <algorithm>
#include <sstream>

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kProfileUsage = R"(Usage: aismi profile list [-i ID[,ID...]] [-j]

Lists the VF profiles (built in: whole, half, quarter, eighth of a card; more from
/etc/aismi/profiles.d) with each one's resources on each card and how many more VFs of it fit
there now.

)";

Result<std::string> provision(DaemonClient& client, const ProvisionRequest& r) {
    auto path = client.findVf(r.vf);
    if (!path) return std::move(path).error();
    auto done = r.profile.empty() ? client.unprovision(*path) : client.provision(*path, r.profile, r.tenant);
    if (!done) return std::move(done).error();
    return describeVf(client, *path, r.vf);
}

Result<std::string> listProfiles(DaemonClient& client, const ProfileListRequest& r) {
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
            right(std::to_string(p.memoryMib) + " MiB", 12);
            right(std::to_string(p.engines), 9);
            right(std::to_string(p.more), 10);
            out << "\n";
        }
    }
    if (r.json) return json + (first ? "]\n" : "\n]\n");
    return out.str();
}

Result<Command> parseProvision(const CommandLine& c) {
    auto vf = oneVf(c, "provision");
    if (!vf) return std::move(vf).error();
    if (!c.has("profile") || c.text("profile").empty())
        return usage("vf provision needs --profile NAME (aismi profile list shows them)", "aismi vf --help");
    ProvisionRequest r{*vf, c.text("profile"), ""};
    if (c.has("tenant")) {
        r.tenant = c.text("tenant");
        if (r.tenant.empty()) return usage("--tenant needs a name", "aismi vf --help");
    }
    return makeCommand("vf provision", r, provision);
}

Result<Command> parseUnprovision(const CommandLine& c) {
    auto vf = oneVf(c, "unprovision");
    if (!vf) return std::move(vf).error();
    return makeCommand("vf unprovision", ProvisionRequest{*vf, "", ""}, provision);
}

Result<Command> parseProfileList(const CommandLine& c) {
    auto cards = cardIds(c, "profile list", "aismi profile --help");
    if (!cards) return std::move(cards).error();
    return reading(makeCommand("profile list", ProfileListRequest{*cards, c.has("json")}, listProfiles), c.has("json"));
}

}  // namespace

CommandSet provisioningCommands() {
    return {{
                {{"vf", "provision"}, {"profile", "tenant"}, parseProvision, true},
                {{"vf", "unprovision"}, {}, parseUnprovision, true},
                {{"profile", "list"}, {"id", "json"}, parseProfileList},
            },
            {{"profile", kProfileUsage,
              [] { return std::string("  -i [ --id ] ID        only these cards (index, PCI address or serial)\n  -j [ --json ]         JSON output\n"); },
              "list", "profile list               the VF profiles and what fits (aismi profile --help)"}}};
}

}  // namespace aismi::cli
