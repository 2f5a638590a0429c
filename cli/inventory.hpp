// What the CLI knows after one GetManagedObjects call: the manager, the cards and the VFs
// as property bags. A property the device cannot report (NaN, or the integer maximum on the
// bus) is stored as "not available".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace aismi::cli {

struct NotAvailable {
    bool operator==(const NotAvailable&) const = default;
};
using Value = std::variant<NotAvailable, bool, int64_t, uint64_t, double, std::string, std::vector<std::string>>;

struct BusObject {
    std::string path;
    std::map<std::string, Value> props;
    const Value& get(const std::string& name) const;
    std::string text(const std::string& name) const;   // "" unless a string
    uint64_t number(const std::string& name) const;    // 0 unless an unsigned number
};

struct Inventory {
    BusObject manager;
    std::vector<BusObject> cards;  // by Index
    std::vector<BusObject> vfs;    // by CardIndex, then Index
};

}  // namespace aismi::cli
