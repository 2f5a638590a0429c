#include "property_table.hpp"

namespace aismi::bus {
namespace {

template <class T>
sdbus::Variant columnOf(const std::vector<WireValue>& values) {
    std::vector<T> out;
    out.reserve(values.size());
    for (const auto& v : values) out.push_back(std::get<T>(v));
    return sdbus::Variant(out);
}

}  // namespace

std::string signatureOf(const WireValue& v) {
    return std::visit([](const auto& x) { return sdbus::signature_of<std::decay_t<decltype(x)>>::str(); }, v);
}

bool sameWire(const WireValue& a, const WireValue& b) {
    if (auto* x = std::get_if<double>(&a))
        if (auto* y = std::get_if<double>(&b)) return (std::isnan(*x) && std::isnan(*y)) || *x == *y;
    return a == b;
}

void appendTo(sdbus::Message& msg, const WireValue& v) {
    std::visit([&msg](const auto& x) { msg << x; }, v);
}

sdbus::Variant makeColumn(const std::string& signature, const std::vector<WireValue>& values) {
    if (signature == "b") return columnOf<bool>(values);
    if (signature == "q") return columnOf<uint16_t>(values);
    if (signature == "i") return columnOf<int32_t>(values);
    if (signature == "u") return columnOf<uint32_t>(values);
    if (signature == "t") return columnOf<uint64_t>(values);
    if (signature == "d") return columnOf<double>(values);
    if (signature == "s") return columnOf<std::string>(values);
    if (signature == "as") return columnOf<std::vector<std::string>>(values);
    if (signature == "o") return columnOf<sdbus::ObjectPath>(values);
    return columnOf<std::vector<sdbus::ObjectPath>>(values);
}

}  // namespace aismi::bus
