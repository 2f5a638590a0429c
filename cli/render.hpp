// Everything aismi prints from an Inventory. Pure functions of their inputs, so the unit
// tests pin the layouts (80 columns, alignment) and the CSV/JSON interfaces.
#pragma once

#include "fields.hpp"
#include "client_api.hpp"

#include <map>
#include <string>
#include <vector>

namespace aismi::cli {

struct CsvFormat {
    bool header = true;
    bool units = true;
};

/// The nvidia-smi-style summary: one block per card, then one row per enabled VF.
std::string renderSummary(const Inventory& inv, const std::vector<const BusObject*>& cards, const std::string& timestamp);
/// The full report (-q); `sections` empty means all. Section names: see reportSections().
/// Each VF's last reset for the RECOVERY section, by "CARD:VF" ("2026-11-24 18:30:59, automatic").
using LastResets = std::map<std::string, std::string>;
std::string renderReport(const Inventory& inv, const std::vector<const BusObject*>& cards, const std::vector<std::string>& sections,
                         const std::string& timestamp, const LastResets& lastResets = {});
/// What an operator should do about a VF, from its properties and whether aismid resets hung
/// VFs by itself ("none" when nothing is wrong).
std::string recommendedAction(const BusObject& vf, bool autoReset);
const std::vector<std::string>& reportSections();
/// Whether `name` is among -q -d's `sections` (all are when none is given).
bool sectionWanted(const std::vector<std::string>& sections, const std::string& name);
std::string renderCsv(const std::vector<const BusObject*>& rows, const std::vector<const Field*>& fields, const CsvFormat& format);
/// A JSON array of objects, one per row, with the given fields.
std::string renderJsonRows(const std::vector<const BusObject*>& rows, const std::vector<const Field*>& fields);
/// Everything as JSON: the daemon, and each card with every field and its VFs.
/// The whole inventory as one JSON document; with `sections` (-q -d) only their card fields
/// (and the VFs with SRIOV), besides the identity fields that are always there.
std::string renderJsonInventory(const Inventory& inv, const std::vector<const BusObject*>& cards, const std::vector<std::string>& sections,
                                const std::string& timestamp);
/// The VF table (and, under it, the VFs given to libvirt domains); `none` when there are no VFs.
std::string renderVfTable(const std::vector<const BusObject*>& vfs, const std::string& none = "No VFs enabled");
void appendVfTable(std::string& out, const std::vector<const BusObject*>& vfs, const std::string& none = "No VFs enabled");
std::string renderFieldHelp(const std::vector<Field>& fields, const std::string& option);

}  // namespace aismi::cli
