// The query fields of --query-card and --query-vf: fixed names, a meaning, a unit, and the
// bus property each comes from. One table drives CSV, JSON and --help-query-*.
#pragma once

#include "client_api.hpp"

#include <optional>
#include <string>
#include <vector>

namespace aismi::cli {

struct Field {
    std::string name;         // "memory.used"
    std::string property;     // "MemoryUsedMiB"
    std::string unit;         // "MiB", "" for none
    std::string description;  // for --help-query-*
    int decimals = 0;         // for doubles
    bool hex = false;         // PCI IDs print as 0x1ed5 (in CSV and JSON alike)
    std::string section = "";  // the -q -d section it belongs to; "" = identity, always shown
};

const std::vector<Field>& cardFields();
const std::vector<Field>& vfFields();
const Field* findField(const std::vector<Field>& table, const std::string& name);

/// The value as text: "512 MiB", or "512" without units; "[N/A]" when not reported;
/// lists joined with "; ", an empty list "None".
std::string formatValue(const Value& v, const Field& f, bool withUnit);

}  // namespace aismi::cli
