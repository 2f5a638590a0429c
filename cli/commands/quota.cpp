#include "quota.hpp"

#include "client_api.hpp"
#include "command_parsing.hpp"
#include "json.hpp"

#include <aismi/text.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kQuotaUsage = R"(Usage: aismi quota set TENANT [--max-vfs N] [--max-compute N|none] [--max-memory SIZE|none]
       aismi quota show [TENANT] [-j]
       aismi quota remove TENANT

Caps what one tenant's provisioned VFs may hold together on this host: how many VFs, and
optionally how many compute units and how much device memory (SIZE: 512, 512M, 8G, 1T; MiB
without a unit; 8Gi and 8g too). set changes only the limits it is given and keeps the others;
none removes a compute or memory limit; a tenant's first quota needs --max-vfs. A provisioning
that would go beyond it is refused with the numbers; a quota set below what the tenant holds
takes nothing away. show lists each quota with what the tenant holds now.

)";

std::string limitText(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

Result<std::string> show(DaemonClient& client, const QuotaShowRequest& r) {
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

Result<std::string> set(DaemonClient& client, const QuotaSetRequest& r) {
    if (auto s = client.updateQuota(r.tenant, {r.maxVfs, r.maxComputeUnits, r.maxMemoryMib}); !s) return std::move(s).error();
    return show(client, {r.tenant, false});
}

Result<std::string> remove(DaemonClient& client, const QuotaRemoveRequest& r) {
    if (auto s = client.removeQuota(r.tenant); !s) return std::move(s).error();
    return "tenant " + r.tenant + ": quota removed\n";
}

// The tenant word of a quota command (`optional`: quota show may go without).
Result<std::string> tenantWord(const CommandLine& c, const std::string& verb, bool optional) {
    if (c.arguments.empty() && optional) return std::string();
    if (c.arguments.size() > 1) return usage("quota " + verb + " " + tooManyWords(c, "one tenant name"), "aismi quota --help");
    if (c.arguments.empty()) return usage("quota " + verb + " needs one tenant name", "aismi quota --help");
    return c.arguments[0];
}

// --max-memory: a SIZE, 0 (0M, 0G, ...: the tenant may hold none, as --max-vfs 0), or none.
Result<uint64_t> memoryLimit(const std::string& text) {
    if (text == "none") return QuotaSetRequest::kNoLimit;
    // A size parses from 1 MiB up, so a zero is checked as a one of the same spelling.
    const size_t digits = text.find_first_not_of('0');
    const bool zero = !text.empty() && digits != 0 && (digits == std::string::npos || !std::isdigit(static_cast<unsigned char>(text[digits])));
    auto mem = text::parseSizeMib(zero ? "1" + text.substr(std::min(digits, text.size())) : text, "--max-memory");
    if (!mem) return usage(text::parseSizeMib(text, "--max-memory").error().message, "none: no limit; aismi quota --help");
    return zero ? 0 : *mem;
}

Result<Command> parseQuotaSet(const CommandLine& c) {
    auto tenant = tenantWord(c, "set", false);
    if (!tenant) return std::move(tenant).error();
    QuotaSetRequest r;
    r.tenant = *tenant;
    // Only the limits given change (aismid merges them); `none` removes a compute or memory limit.
    if (!c.has("max-vfs") && !c.has("max-compute") && !c.has("max-memory"))
        return usage("quota set needs at least one of --max-vfs, --max-compute, --max-memory", "aismi quota --help");
    if (c.has("max-vfs")) {
        auto vfs = number(c.text("max-vfs"), "--max-vfs", 0, 1000000, "aismi quota --help");
        if (!vfs) return std::move(vfs).error();
        r.maxVfs = *vfs;
    }
    if (c.has("max-compute")) {
        if (c.text("max-compute") == "none") {
            r.maxComputeUnits = QuotaSetRequest::kNoLimit;
        } else {
            auto cu = number(c.text("max-compute"), "--max-compute", 0, 0xffffffffu, "none: no limit; aismi quota --help");
            if (!cu) return std::move(cu).error();
            r.maxComputeUnits = *cu;
        }
    }
    if (c.has("max-memory")) {
        auto mem = memoryLimit(c.text("max-memory"));
        if (!mem) return std::move(mem).error();
        r.maxMemoryMib = *mem;
    }
    return makeCommand("quota set", r, set);
}

Result<Command> parseQuotaShow(const CommandLine& c) {
    auto tenant = tenantWord(c, "show", true);
    if (!tenant) return std::move(tenant).error();
    return reading(makeCommand("quota show", QuotaShowRequest{*tenant, c.has("json")}, show), c.has("json"));
}

Result<Command> parseQuotaRemove(const CommandLine& c) {
    auto tenant = tenantWord(c, "remove", false);
    if (!tenant) return std::move(tenant).error();
    return makeCommand("quota remove", QuotaRemoveRequest{*tenant}, remove);
}

po::options_description quotaOptions() {
    po::options_description o("quota options");
    o.add_options()
        ("max-vfs", po::value<std::string>()->value_name("N"), "VFs the tenant may hold (quota set; 0 to 1000000)")
        ("max-compute", po::value<std::string>()->value_name("N"), "compute units the tenant may hold (quota set; default: no limit)")
        ("max-memory", po::value<std::string>()->value_name("SIZE"), "device memory the tenant may hold, SIZE (quota set; default: no limit)");
    return o;
}

}  // namespace

CommandSet quotaCommands() {
    return {{
                {{"quota", "set"}, {"max-vfs", "max-compute", "max-memory"}, parseQuotaSet, true},
                {{"quota", "show"}, {"json"}, parseQuotaShow, true},
                {{"quota", "remove"}, {}, parseQuotaRemove, true},
            },
            {{"quota", kQuotaUsage, [] { return optionLines(quotaOptions()) + "  -j [ --json ]         JSON output (quota show)\n"; }, "set, show or remove",
              "quota set|show|remove      tenant quotas (aismi quota --help)"}},
            [](po::options_description& o) { o.add(quotaOptions()); }};
}

}  // namespace aismi::cli
