#include "inventory.hpp"

namespace aismi::cli {

const Value& BusObject::get(const std::string& name) const {
    static const Value none = NotAvailable{};
    auto it = props.find(name);
    return it == props.end() ? none : it->second;
}

std::string BusObject::text(const std::string& name) const {
    const auto* s = std::get_if<std::string>(&get(name));
    return s ? *s : std::string();
}

uint64_t BusObject::number(const std::string& name) const {
    const auto* n = std::get_if<uint64_t>(&get(name));
    return n ? *n : 0;
}

}  // namespace aismi::cli
