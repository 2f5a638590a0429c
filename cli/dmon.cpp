#include "dmon.hpp"

#include "json.hpp"
#include "selection.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <sstream>

namespace aismi::cli {
namespace {

struct Row {
    const BusObject& object;
    bool vf;
    const std::vector<const BusObject*>* vfsOfCard;  // card rows: its VFs
};

// One column: its group, name, unit, JSON key, and what it shows for a card or a VF row.
struct Column {
    char group;
    const char* name;
    const char* unit;
    const char* key;
    std::function<Value(const Row&)> value;
};

Value prop(const Row& r, std::string_view card, std::string_view vf) {
    const std::string_view name = r.vf ? vf : card;
    return name.empty() ? Value(NotAvailable{}) : r.object.get(name);
}

uint64_t countVfs(const Row& r, const std::function<bool(const BusObject&)>& match) {
    uint64_t n = 0;
    for (const BusObject* v : *r.vfsOfCard) n += match(*v);
    return n;
}

Value cardOnly(const Row& r, uint64_t (*count)(const Row&)) { return r.vf ? Value(NotAvailable{}) : Value(count(r)); }

const std::vector<Column>& columns() {
    static const std::vector<Column> all{
        {'p', "pwr", "W", "power_w", [](const Row& r) { return prop(r, "PowerW", ""); }},
        {'p', "temp", "C", "temperature_c", [](const Row& r) { return prop(r, "TemperatureC", ""); }},
        {'u', "util", "%", "utilization_pct", [](const Row& r) { return prop(r, "UtilizationPercent", "UtilizationPercent"); }},
        {'m', "mused", "MiB", "memory_used_mib", [](const Row& r) { return prop(r, "MemoryUsedMiB", "MemoryUsedMiB"); }},
        {'m', "mtotal", "MiB", "memory_mib", [](const Row& r) { return prop(r, "MemoryTotalMiB", "MemoryMiB"); }},
        {'e', "eccc", "", "ecc_corrected", [](const Row& r) { return prop(r, "EccCorrected", "EccCorrected"); }},
        {'e', "eccu", "", "ecc_uncorrected", [](const Row& r) { return prop(r, "EccUncorrected", "EccUncorrected"); }},
        {'e', "aerc", "", "aer_correctable", [](const Row& r) { return prop(r, "AerCorrectable", ""); }},
        {'e', "aern", "", "aer_nonfatal", [](const Row& r) { return prop(r, "AerNonFatal", ""); }},
        {'e', "aerf", "", "aer_fatal", [](const Row& r) { return prop(r, "AerFatal", ""); }},
        {'v', "vfs", "", "vfs", [](const Row& r) { return cardOnly(r, [](const Row& c) { return c.object.number("VfEnabled"); }); }},
        {'v', "run", "", "vfs_running", [](const Row& r) {
             return cardOnly(r, [](const Row& c) { return countVfs(c, [](const BusObject& v) { return v.text("State") == "running"; }); });
         }},
        {'v', "hung", "", "vfs_hung", [](const Row& r) {
             return cardOnly(r, [](const Row& c) { return countVfs(c, [](const BusObject& v) { return v.text("State") == "hung"; }); });
         }},
        {'v', "quar", "", "quarantined", [](const Row& r) -> Value {
             if (r.vf) return std::get_if<bool>(&r.object.get("Quarantined")) ? Value(uint64_t{std::get<bool>(r.object.get("Quarantined"))}) : Value(NotAvailable{});
             return countVfs(r, [](const BusObject& v) { auto* q = std::get_if<bool>(&v.get("Quarantined")); return q && *q; });
         }},
        {'v', "state", "", "state", [](const Row& r) { return prop(r, "", "State"); }},
        {'v', "health", "", "health", [](const Row& r) { return prop(r, "Health", "Health"); }},
    };
    return all;
}

std::vector<const Column*> selected(const CliRequest& r) {
    std::vector<const Column*> out;
    for (char g : kDmonGroups)
        if (r.dmonGroups.find(g) != std::string::npos)
            for (const Column& c : columns())
                if (c.group == g) out.push_back(&c);
    return out;
}

int widthOf(const Column& c) { return std::string_view(c.name) == "health" || std::string_view(c.name) == "state" ? 9 : 7; }

std::string cell(const Value& v) {
    if (std::holds_alternative<NotAvailable>(v)) return "-";
    if (auto* d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.0f", *d);
        return buf;
    }
    if (auto* u = std::get_if<uint64_t>(&v)) return std::to_string(*u);
    if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
    if (auto* b = std::get_if<bool>(&v)) return *b ? "1" : "0";
    if (auto* s = std::get_if<std::string>(&v)) return s->empty() ? "-" : *s;
    return "-";
}

std::string jsonValue(const Value& v) {
    if (std::holds_alternative<NotAvailable>(v)) return "null";
    if (auto* d = std::get_if<double>(&v)) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f", *d);
        return buf;
    }
    if (auto* s = std::get_if<std::string>(&v)) return json::quote(*s);
    return cell(v);
}

std::string pad(const std::string& s, int width) { return s.size() >= static_cast<size_t>(width) ? " " + s : std::string(width - s.size(), ' ') + s; }


}  // namespace

std::string dmonHeader(const CliRequest& r) {
    std::string names = "#    idx", units = "#       ";
    for (const Column* c : selected(r)) {
        names += pad(c->name, widthOf(*c));
        units += pad(*c->unit ? c->unit : "", widthOf(*c));
    }
    // No trailing blanks.
    while (!units.empty() && units.back() == ' ') units.pop_back();
    return names + "\n" + units + "\n";
}

Result<std::string> dmonLines(const Inventory& inv, const CliRequest& r, int64_t unixSeconds) {
    auto cards = selectCards(inv, r.ids);
    if (!cards) return std::move(cards).error();
    const auto cols = selected(r);
    std::string out;
    for (const BusObject* card : *cards) {
        const auto vfs = vfsOf(inv, {card});
        std::vector<Row> rows{Row{*card, false, &vfs}};
        if (r.dmonVfs)
            for (const BusObject* v : vfs) rows.push_back(Row{*v, true, nullptr});
        for (const Row& row : rows) {
            const std::string idx = row.vf ? std::to_string(row.object.number("CardIndex")) + ":" + std::to_string(row.object.number("Index"))
                                           : std::to_string(row.object.number("Index"));
            if (r.json) {
                out += "{\"time\":" + std::to_string(unixSeconds) + ",\"card\":" + std::to_string(row.vf ? row.object.number("CardIndex") : row.object.number("Index"));
                if (row.vf) out += ",\"vf\":" + std::to_string(row.object.number("Index"));
                for (const Column* c : cols) out += ",\"" + std::string(c->key) + "\":" + jsonValue(c->value(row));
                out += "}\n";
                continue;
            }
            std::string line = pad(idx, 8);
            for (const Column* c : cols) line += pad(cell(c->value(row)), widthOf(*c));
            out += line + "\n";
        }
    }
    return out;
}

}  // namespace aismi::cli
