#include "render.hpp"

#include "json.hpp"
#include "selection.hpp"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <cstdio>
#include <sstream>

namespace aismi::cli {
namespace {

constexpr size_t kInner = 76;  // "| " + 76 + " |" = 80 columns

// Appends `s` fitted into `w` columns, marking a cut with '~'.
void appendFit(std::string& out, std::string_view s, size_t w, bool right = false) {
    if (s.size() > w) {
        out.append(s.substr(0, w - 1));
        out += '~';
        return;
    }
    if (right) out.append(w - s.size(), ' ');
    out.append(s);
    if (!right) out.append(w - s.size(), ' ');
}

std::string fit(std::string_view s, size_t w, bool right = false) {
    std::string out;
    appendFit(out, s, w, right);
    return out;
}

std::string boxed(const std::string& content) { return "| " + fit(content, kInner) + " |\n"; }
std::string rule(char c) { return "+" + std::string(kInner + 2, c) + "+\n"; }
std::string ruleEq() { return "|" + std::string(kInner + 2, '=') + "|\n"; }

std::string value(const BusObject& o, const std::vector<Field>& table, const std::string& field, bool units = true) {
    const Field* f = findField(table, field);
    return formatValue(o.get(f->property), *f, units);
}
std::string cardValue(const BusObject& o, const std::string& field, bool units = true) {
    return value(o, cardFields(), field, units);
}

// "44C", "60W", "0%", "512MiB" for the compact table; "N/A" when not reported.
std::string compact(const BusObject& o, const std::string& field, const std::string& unit) {
    const Field* f = findField(cardFields(), field);
    const Value& v = o.get(f->property);
    if (std::holds_alternative<NotAvailable>(v)) return "N/A";
    if (const auto* d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", *d);  // whole units, rounded
        return buf + unit;
    }
    return formatValue(v, *f, false) + unit;
}

std::string vfId(const BusObject& vf) { return std::to_string(vf.number("CardIndex")) + ":" + std::to_string(vf.number("Index")); }

class Report {
public:
    void line(int indent, const std::string& label, const std::string& value) {
        std::string key = std::string(static_cast<size_t>(indent) * 4, ' ') + label;
        if (key.size() < 42) key += std::string(42 - key.size(), ' ');
        out_ << key << ": " << value << "\n";
    }
    void heading(int indent, const std::string& title) { out_ << std::string(static_cast<size_t>(indent) * 4, ' ') << title << "\n"; }
    std::ostringstream& out() { return out_; }

private:
    std::ostringstream out_;
};

// Report sections that are plain "label: field" lines.
struct SimpleSection {
    const char* section;
    const char* heading;
    std::vector<std::pair<const char*, const char*>> rows;
};
const std::vector<SimpleSection> kSimpleSections{
    {"TEMPERATURE", "Temperature", {{"Current", "temperature"}, {"Critical", "temperature.critical"}}},
    {"POWER", "Power", {{"Draw", "power.draw"}, {"Limit", "power.limit"}}},
    {"UTILIZATION", "Utilization", {{"Compute", "utilization"}}},
    {"ECC", "ECC Errors", {{"Corrected", "ecc.corrected"}, {"Uncorrected", "ecc.uncorrected"}}},
};

std::string yesNo(const BusObject& o, const std::string& prop) {
    const auto* b = std::get_if<bool>(&o.get(prop));
    return b ? (*b ? "Yes" : "No") : "[N/A]";
}

}  // namespace

bool sectionWanted(const std::vector<std::string>& sections, const std::string& name) {
    return sections.empty() || std::find(sections.begin(), sections.end(), name) != sections.end();
}

const std::vector<std::string>& reportSections() {
    static const std::vector<std::string> s{"PCI", "FIRMWARE", "SRIOV", "TEMPERATURE", "POWER", "UTILIZATION", "MEMORY", "ECC", "HEALTH", "RECOVERY"};
    return s;
}

std::string renderSummary(const Inventory& inv, const std::vector<const BusObject*>& cards, const std::string& timestamp) {
    std::ostringstream out;
    const std::string title = "aismi " + inv.manager.text("Version") + "   backend: " + inv.manager.text("Backend");
    out << fit(title, 80 - timestamp.size() - 1) << " " << timestamp << "\n";
    out << rule('-');
    out << boxed("Card  " + fit("Name", 26) + " " + fit("PCI Bus-Id", 12) + " " + fit("Temp", 5, true) + " " + fit("Power", 7, true) +
                 " " + fit("Util", 5, true) + "  " + "Health");
    out << boxed("      " + fit("Serial", 13) + " " + fit("Firmware", 12) + " " + fit("Memory-Usage", 24) + " " + fit("VFs", 7, true));
    out << ruleEq();
    if (cards.empty()) out << boxed("No cards found");
    for (size_t i = 0; i < cards.size(); ++i) {
        const BusObject& c = *cards[i];
        if (i) out << boxed("");
        const std::string memory = compact(c, "memory.used", "MiB") + " / " + compact(c, "memory.total", "MiB");
        const std::string enabled = compact(c, "vf.enabled", ""), total = compact(c, "vf.total", "");
        const std::string vfs = enabled == "N/A" || total == "N/A" ? "N/A" : enabled + "/" + total;
        out << boxed(fit(cardValue(c, "index"), 4, true) + "  " + fit(c.text("Name"), 26) + " " + fit(c.text("PciAddress"), 12) + " " +
                     fit(compact(c, "temperature", "C"), 5, true) + " " + fit(compact(c, "power.draw", "W"), 7, true) + " " +
                     fit(compact(c, "utilization", "%"), 5, true) + "  " + c.text("Health"));
        const std::string fw = c.text("FirmwareVersion").empty() ? "N/A" : c.text("FirmwareVersion");
        out << boxed("      " + fit(c.text("Serial"), 13) + " " + fit(fw, 12) + " " + fit(memory, 24) + " " + fit(vfs, 7, true));
    }
    out << rule('-') << "\n";
    std::string text = std::move(out).str();
    appendVfTable(text, vfsOf(inv, cards));  // in place: thousands of rows are not copied again
    return text;
}

std::string renderVfTable(const std::vector<const BusObject*>& vfs, const std::string& none) {
    std::string out;
    appendVfTable(out, vfs, none);
    return out;
}

void appendVfTable(std::string& out, const std::vector<const BusObject*>& vfs, const std::string& none) {
    // Thousands of rows on a large host: each row is appended in place to one buffer.
    out.reserve(out.size() + (vfs.size() + 6) * 81);
    out += rule('-');
    out += boxed(fit("VF", 8) + " " + fit("PCI Bus-Id", 12) + "  " + fit("State", 12) + " " + fit("Health", 9) + " " + fit("Driver", 8) +
                 " " + fit("CUs", 5, true) + " " + fit("Memory", 9, true) + " " + fit("Util", 5, true));
    out += ruleEq();
    if (vfs.empty()) out += boxed(none);
    char num[32];
    // A number with its unit, or N/A.
    const auto amount = [&](const Value& v, std::string_view unit) -> std::string_view {
        const auto* n = std::get_if<uint64_t>(&v);
        if (!n) return "N/A";
        char* end = std::to_chars(num, num + 20, *n).ptr;
        for (char c : unit) *end++ = c;
        return {num, static_cast<size_t>(end - num)};
    };
    for (const auto* vf : vfs) {
        const size_t start = out.size();
        out += "| ";
        char id[24];
        char* idEnd = std::to_chars(id, id + 10, vf->number("CardIndex")).ptr;
        *idEnd++ = ':';
        idEnd = std::to_chars(idEnd, idEnd + 10, vf->number("Index")).ptr;
        appendFit(out, {id, static_cast<size_t>(idEnd - id)}, 8);
        out += ' ';
        appendFit(out, vf->text("PciAddress"), 12);
        out += "  ";
        // A quarantined VF says so where its state goes: it is out of use whatever it does.
        const auto* quarantined = std::get_if<bool>(&vf->get("Quarantined"));
        appendFit(out, quarantined && *quarantined ? std::string_view("quarantined") : std::string_view(vf->text("State")), 12);
        out += ' ';
        appendFit(out, vf->text("Health"), 9);
        out += ' ';
        const std::string& driver = vf->text("Driver");
        appendFit(out, driver.empty() ? std::string_view("-") : std::string_view(driver), 8);
        out += ' ';
        appendFit(out, amount(vf->get("ComputeUnits"), ""), 5, true);
        out += ' ';
        appendFit(out, amount(vf->get("MemoryMiB"), "MiB"), 9, true);
        out += ' ';
        appendFit(out, amount(vf->get("UtilizationPercent"), "%"), 5, true);
        out.append(kInner - std::min(kInner, out.size() - start - 2), ' ');  // pad to the box
        out += " |\n";
    }
    out += rule('-');
    // Like nvidia-smi's process table under its GPUs: which VM each VF is given to, or who
    // else holds it (kubelet).
    std::vector<const BusObject*> assigned;
    for (const auto* vf : vfs)
        if (!vf->text("Domain").empty() || !vf->text("Holder").empty()) assigned.push_back(vf);
    if (assigned.empty()) return;
    out += "\n" + rule('-');
    out += boxed(fit("VF", 8) + " " + fit("PCI Bus-Id", 12) + "  " + fit("Domain", 27) + " " + fit("Tenant", 15) + " " + fit("State", 9));
    out += ruleEq();
    for (const auto* vf : assigned) {
        const std::string id = std::to_string(vf->number("CardIndex")) + ":" + std::to_string(vf->number("Index"));
        const std::string& tenant = vf->text("Tenant");
        const bool held = vf->text("Domain").empty();
        out += boxed(fit(id, 8) + " " + fit(vf->text("PciAddress"), 12) + "  " + fit(held ? "(held by " + vf->text("Holder") + ")" : vf->text("Domain"), 27) + " " +
                     fit(tenant.empty() ? "-" : tenant, 15) + " " + fit(held ? std::string("held") : vf->text("Assignment"), 9));
    }
    out += rule('-');
}

std::string recommendedAction(const BusObject& vf, bool autoReset) {
    const std::string id = vfId(vf);
    const auto* quarantined = std::get_if<bool>(&vf.get("Quarantined"));
    const auto* reasons = std::get_if<std::vector<std::string>>(&vf.get("HealthReasons"));
    const auto said = [&](const char* text) {
        return reasons && std::any_of(reasons->begin(), reasons->end(), [&](const std::string& r) { return r.find(text) != std::string::npos; });
    };
    // What clears each fault (docs/health.md): a VF reset its hang or error; a card reset (or a
    // power cycle) the ECC error counts; an operator the quarantine.
    if (quarantined && *quarantined) {
        const std::string why = vf.text("QuarantineReason");
        return "quarantined (" + (why.empty() ? std::string("no reason given") : why) + "): once that is dealt with, 'aismi vf unquarantine " + id + "'";
    }
    const std::string card = std::to_string(vf.number("CardIndex"));
    if (said("uncorrectable ECC"))
        return (vf.text("State") == "error" ? "'aismi vf reset " + id + "' restarts it; " : std::string()) +
               "move what runs on it elsewhere: its uncorrectable ECC errors stay counted until a card reset ('aismi reset -i " + card +
               "', every VF with it); replace the card if they recur";
    if (vf.text("State") == "error") return "'aismi vf reset " + id + "'";
    if (vf.text("State") == "hung" || said("without progress"))
        return autoReset ? "none: aismid resets it (automatic resets are on)" : "'aismi vf reset " + id + "' (automatic resets are off)";
    if (vf.text("Health") == "unknown") return "see 'aismi health': its data is not fresh";
    return "none";
}

std::string renderReport(const Inventory& inv, const std::vector<const BusObject*>& cards, const std::vector<std::string>& sections,
                         const std::string& timestamp, const LastResets& lastResets) {
    Report r;
    r.out() << "\n==============AISMI LOG==============\n\n";
    r.line(0, "Timestamp", timestamp);
    r.line(0, "Daemon Version", inv.manager.text("Version"));
    r.line(0, "Backend", inv.manager.text("Backend"));
    r.line(0, "Attached Cards", std::to_string(inv.cards.size()));
    for (const auto* cp : cards) {
        const BusObject& c = *cp;
        r.out() << "\n";
        r.heading(0, "Card " + c.text("PciAddress"));
        r.line(1, "Index", cardValue(c, "index"));
        r.line(1, "Product Name", c.text("Name"));
        r.line(1, "Serial Number", c.text("Serial"));
        r.line(1, "Driver", c.text("Driver").empty() ? "None" : c.text("Driver"));
        r.line(1, "Generic Mode", yesNo(c, "GenericMode"));
        if (sectionWanted(sections, "PCI")) {
            r.heading(1, "PCI");
            r.line(2, "Bus Id", c.text("PciAddress"));
            r.line(2, "Vendor Id", cardValue(c, "vendor_id"));
            r.line(2, "Device Id", cardValue(c, "device_id"));
            r.heading(2, "Link");
            r.line(3, "Current Speed", c.text("LinkSpeed").empty() ? "[N/A]" : c.text("LinkSpeed"));
            r.line(3, "Current Width", cardValue(c, "pcie.link.width.current"));
            r.line(3, "Max Speed", c.text("LinkMaxSpeed").empty() ? "[N/A]" : c.text("LinkMaxSpeed"));
            r.line(3, "Max Width", cardValue(c, "pcie.link.width.max"));
            r.heading(2, "AER Errors");
            r.line(3, "Correctable", cardValue(c, "aer.correctable"));
            r.line(3, "Non-fatal", cardValue(c, "aer.nonfatal"));
            r.line(3, "Fatal", cardValue(c, "aer.fatal"));
        }
        if (sectionWanted(sections, "FIRMWARE")) {
            r.heading(1, "Firmware");
            r.line(2, "Version", c.text("FirmwareVersion").empty() ? "[N/A]" : c.text("FirmwareVersion"));
            r.line(2, "Active Bank", cardValue(c, "firmware.active_bank"));
            const auto* versions = std::get_if<std::vector<std::string>>(&c.get("FirmwareBankVersions"));
            const auto* integrity = std::get_if<std::vector<std::string>>(&c.get("FirmwareBankIntegrity"));
            for (size_t b = 0; versions && b < versions->size(); ++b)
                r.line(2, "Bank " + std::to_string(b), (*versions)[b] + (integrity && b < integrity->size() ? " (" + (*integrity)[b] + ")" : ""));
        }
        if (sectionWanted(sections, "SRIOV")) {
            r.heading(1, "SR-IOV");
            r.line(2, "Total VFs", cardValue(c, "vf.total"));
            r.line(2, "Enabled VFs", cardValue(c, "vf.enabled"));
            if (std::holds_alternative<uint64_t>(c.get("ComputeUnits"))) {
                r.line(2, "Compute Oversubscription", cardValue(c, "oversubscription.compute"));
                r.line(2, "Memory Oversubscription", cardValue(c, "oversubscription.memory"));
            }
            bool any = false;
            for (const BusObject* vfp : vfsOf(inv, {&c})) {
                const BusObject& vf = *vfp;
                if (!any) r.heading(2, "Virtual Functions");
                any = true;
                const std::string& profile = vf.text("Profile");
                const std::string& tenant = vf.text("Tenant");
                const auto* share = std::get_if<double>(&vf.get("ComputeShare"));
                const auto* throttled = std::get_if<bool>(&vf.get("Throttled"));
                char shareText[64] = "";
                if (share && *share > 0)
                    std::snprintf(shareText, sizeof shareText, ", getting %.1f compute units%s", *share, throttled && *throttled ? " (throttled)" : "");
                r.line(3, vfId(vf), vf.text("PciAddress") + ", " + vf.text("State") + ", " + vf.text("Health") + ", driver " +
                                        (vf.text("Driver").empty() ? "none" : vf.text("Driver")) +
                                        (profile.empty() ? "" : ", profile " + profile) + (tenant.empty() ? "" : " for " + tenant) + shareText +
                                        (vf.text("Domain").empty() ? "" : ", domain " + vf.text("Domain")) +
                                        (std::get_if<bool>(&vf.get("Quarantined")) && std::get<bool>(vf.get("Quarantined")) ? ", QUARANTINED" : ""));
            }
        }
        for (const auto& simple : kSimpleSections) {
            if (!sectionWanted(sections, simple.section)) continue;
            r.heading(1, simple.heading);
            for (const auto& [label, field] : simple.rows) r.line(2, label, cardValue(c, field));
        }
        if (sectionWanted(sections, "MEMORY")) {
            r.heading(1, "Memory");
            r.line(2, "Total", cardValue(c, "memory.total"));
            r.line(2, "Used", cardValue(c, "memory.used"));
            const auto* used = std::get_if<uint64_t>(&c.get("MemoryUsedMiB"));
            const auto* total = std::get_if<uint64_t>(&c.get("MemoryTotalMiB"));
            r.line(2, "Free", used && total && *total >= *used ? std::to_string(*total - *used) + " MiB" : "[N/A]");
            r.line(2, "Compute Units", cardValue(c, "compute_units"));
            r.line(2, "Engines", cardValue(c, "engines"));
        }
        if (sectionWanted(sections, "HEALTH")) {
            r.heading(1, "Health");
            r.line(2, "Status", c.text("Health"));
            const auto* reasons = std::get_if<std::vector<std::string>>(&c.get("HealthReasons"));
            if (!reasons || reasons->empty()) r.line(2, "Reasons", "None");
            for (size_t i = 0; reasons && i < reasons->size(); ++i) r.line(2, i ? "" : "Reasons", (*reasons)[i]);
        }
        if (sectionWanted(sections, "RECOVERY")) {
            const auto* autoReset = std::get_if<bool>(&inv.manager.get("AutoReset"));
            const bool on = autoReset && *autoReset;
            const uint64_t guard = inv.manager.number("ResetGuardResets");
            r.heading(1, "Recovery");
            r.line(2, "Automatic Resets", on ? "On, at most " + std::to_string(guard) + " per VF in " +
                                                   std::to_string(inv.manager.number("ResetGuardWindowSeconds")) + " s, then quarantine"
                                             : std::string("Off"));
            for (const BusObject* vfp : vfsOf(inv, {&c})) {
                const BusObject& vf = *vfp;
                const auto last = lastResets.find(vfId(vf));
                r.heading(2, "VF " + vfId(vf));
                r.line(3, "Reset Count", value(vf, vfFields(), "reset_count"));
                r.line(3, "Last Reset", last == lastResets.end() ? "None recorded" : last->second);
                r.line(3, "Guard Budget Left", std::to_string(vf.number("GuardResetsLeft")) + " of " + std::to_string(guard));
                r.line(3, "Recommended Action", recommendedAction(vf, on));
            }
        }
    }
    return r.out().str();
}

std::string renderFieldHelp(const std::vector<Field>& fields, const std::string& option) {
    std::ostringstream out;
    out << "List of valid properties to query for the switch \"" << option << "\":\n\n";
    for (const auto& f : fields) {
        out << "\"" << f.name << "\"\n" << f.description;
        if (!f.unit.empty()) out << " (unit: " << f.unit << ")";
        out << ".\n\n";
    }
    out << "Values the device does not report print as [N/A] (null in JSON).\n";
    return out.str();
}

}  // namespace aismi::cli
