#include "property_table.hpp"

namespace aismi::bus {
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

}  // namespace aismi::bus
