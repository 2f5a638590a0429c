// What the CLI read from aismid: the manager, the cards and the VFs as small property lists.
// A property the device cannot report (NaN, or the integer maximum on the bus) is stored as
// "not available". A list, not a map: thousands of VF rows are built per run, and a row has
// a handful of properties (one allocation per row, names are views of static strings).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <string>
#include <variant>
#include <vector>

namespace aismi::client {

struct NotAvailable {
    bool operator==(const NotAvailable&) const = default;
};
using Value = std::variant<NotAvailable, bool, int64_t, uint64_t, double, std::string, std::vector<std::string>>;

struct BusObject {
    std::string path;
    std::vector<std::pair<std::string_view, Value>> props;  // names: literals or internName()
    const Value& get(std::string_view name) const;
    void set(std::string_view name, Value v);
    const std::string& text(std::string_view name) const;  // "" unless a string
    uint64_t number(std::string_view name) const;          // 0 unless an unsigned number
};

/// A property name read from the bus, kept for the life of the process (BusObject holds views).
std::string_view internName(const std::string& name);

struct Inventory {
    BusObject manager;
    std::vector<BusObject> cards;  // by Index
    std::vector<BusObject> vfs;    // by CardIndex, then Index
};

}  // namespace aismi::client
