// What aismi prints for programs: --query-* as CSV, and every JSON form of the inventory.
#include "render.hpp"

#include "json.hpp"
#include "selection.hpp"

#include <sstream>

namespace aismi::cli {

std::string renderCsv(const std::vector<const BusObject*>& rows, const std::vector<const Field*>& fields, const CsvFormat& format) {
    std::ostringstream out;
    const auto join = [&](auto&& get) {
        for (size_t i = 0; i < fields.size(); ++i) out << (i ? ", " : "") << get(*fields[i]);
        out << "\n";
    };
    if (format.header) join([](const Field& f) { return f.unit.empty() ? f.name : f.name + " [" + f.unit + "]"; });
    // No cell is empty (a bare separator): text with nothing to say (no tenant, no domain) is
    // [N/A], as a value the card does not report is.
    for (const auto* row : rows)
        join([&](const Field& f) {
            std::string cell = formatValue(row->get(f.property), f, format.units);
            return cell.empty() ? std::string("[N/A]") : cell;
        });
    return out.str();
}

namespace {

// A field as JSON: PCI IDs in the form CSV gives them ("0xa15e"), the rest as their type.
void appendJson(std::string& out, const BusObject& o, const Field& f) {
    const Value& v = o.get(f.property);
    if (!f.hex || std::holds_alternative<NotAvailable>(v)) return json::appendValue(out, v);
    json::appendQuoted(out, formatValue(v, f, false));
}

// `"name": value` pairs of `fields`, separated by ", ".
void appendFields(std::string& out, const BusObject& o, const std::vector<const Field*>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ", ";
        json::appendQuoted(out, fields[i]->name);
        out += ": ";
        appendJson(out, o, *fields[i]);
    }
}

std::vector<const Field*> allOf(const std::vector<Field>& table) {
    std::vector<const Field*> out;
    for (const auto& f : table) out.push_back(&f);
    return out;
}

}  // namespace

std::string renderJsonRows(const std::vector<const BusObject*>& rows, const std::vector<const Field*>& fields) {
    std::string out = "[";
    out.reserve(rows.size() * fields.size() * 24 + 8);
    for (size_t r = 0; r < rows.size(); ++r) {
        out += r ? ",\n {" : "\n {";
        appendFields(out, *rows[r], fields);
        out += '}';
    }
    out += rows.empty() ? "]\n" : "\n]\n";
    return out;
}

std::string renderJsonInventory(const Inventory& inv, const std::vector<const BusObject*>& cards, const std::vector<std::string>& sections,
                                const std::string& timestamp) {
    std::vector<const Field*> cardColumns;
    for (const auto& f : cardFields())
        if (f.section.empty() || sectionWanted(sections, f.section)) cardColumns.push_back(&f);
    static const std::vector<const Field*> vfColumns = allOf(vfFields());
    const bool withVfs = sectionWanted(sections, "SRIOV");
    std::string out = "{\n  \"timestamp\": ";
    json::appendQuoted(out, timestamp);
    out += ",\n  \"daemon_version\": ";
    json::appendQuoted(out, inv.manager.text("Version"));
    out += ",\n  \"backend\": ";
    json::appendQuoted(out, inv.manager.text("Backend"));
    out += ",\n  \"cards\": [";
    for (size_t i = 0; i < cards.size(); ++i) {
        const BusObject& c = *cards[i];
        out += i ? ",\n    {" : "\n    {";
        appendFields(out, c, cardColumns);
        if (!withVfs) {
            out += '}';
            continue;
        }
        out += ", \"vfs\": [";
        bool first = true;
        for (const BusObject* vf : vfsOf(inv, {&c})) {
            out += first ? "\n      {" : ",\n      {";
            first = false;
            appendFields(out, *vf, vfColumns);
            out += '}';
        }
        out += first ? "]}" : "\n    ]}";
    }
    out += cards.empty() ? "]\n}\n" : "\n  ]\n}\n";
    return out;
}

}  // namespace aismi::cli
