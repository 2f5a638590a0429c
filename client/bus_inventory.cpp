#include "bus_inventory.hpp"

#include <set>

namespace aismi::client {

const Value& BusObject::get(std::string_view name) const {
    static const Value none = NotAvailable{};
    for (const auto& [n, v] : props)
        if (n == name) return v;
    return none;
}

void BusObject::set(std::string_view name, Value v) {
    for (auto& [n, old] : props)
        if (n == name) {
            old = std::move(v);
            return;
        }
    props.emplace_back(name, std::move(v));
}

std::string_view internName(const std::string& name) {
    static std::set<std::string> names;
    return *names.insert(name).first;
}

const std::string& BusObject::text(std::string_view name) const {
    static const std::string empty;
    const auto* s = std::get_if<std::string>(&get(name));
    return s ? *s : empty;
}

uint64_t BusObject::number(std::string_view name) const {
    const auto* n = std::get_if<uint64_t>(&get(name));
    return n ? *n : 0;
}

}  // namespace aismi::client
