#include <aismi/device_ref.hpp>
#include <aismi/text.hpp>

#include <algorithm>
#include <cctype>

namespace aismi {
namespace {

constexpr size_t kMaxSerial = 64;
constexpr size_t kMaxEcho = 64;

bool allDigits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Text of hex digits, ':' and '.' that holds a '.' is meant as a PCI address (serials and
// CARD:VF have no '.'), so "3b.00.0" is a malformed address, not an unknown serial.
bool looksLikeAddress(std::string_view s) {
    return s.find('.') != std::string_view::npos &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isxdigit(c) || c == ':' || c == '.'; });
}

Result<unsigned> parseIndex(std::string_view s, std::string_view what) {
    if (s.size() > 9) return makeError(Errc::OutOfRange, std::string(what) + " " + quoteInput(s) + " is out of range");
    auto n = text::parseUnsigned(s, what);
    if (!n) return std::move(n).error();
    return static_cast<unsigned>(*n);
}

Result<CardName> parseCardName(std::string_view s) {
    CardName c;
    if (allDigits(s)) {
        auto n = parseIndex(s, "card index");
        if (!n) return std::move(n).error();
        c.kind = CardName::Kind::Index;
        c.index = *n;
        return c;
    }
    if (looksLikeAddress(s)) {
        auto a = parseUserPciAddress(s);
        if (!a) return std::move(a).error();
        c.kind = CardName::Kind::Address;
        c.address = *a;
        return c;
    }
    const bool printable = std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isgraph(ch) && ch != ','; });
    if (s.empty() || s.size() > kMaxSerial || !printable)
        return makeError(Errc::InvalidArgument, quoteInput(s) + " is not a card (name one by index, PCI address or serial)");
    c.kind = CardName::Kind::Serial;
    c.serial = std::string(s);
    return c;
}

}  // namespace

std::string quoteInput(std::string_view text) {
    std::string out = "'";
    for (char ch : text.substr(0, kMaxEcho)) out += std::isprint(static_cast<unsigned char>(ch)) ? ch : '?';
    if (text.size() > kMaxEcho) out += "...";
    return out + "'";
}

Result<PciAddress> parseUserPciAddress(std::string_view text) {
    std::string s(text);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s.size() == 7) s = "0000:" + s;                                    // 3b:00.4
    else if (s.size() == 16 && s.compare(0, 4, "0000") == 0) s.erase(0, 4);  // 00000000:3b:00.4
    auto a = PciAddress::parse(s);
    if (!a)
        return makeError(Errc::InvalidArgument, quoteInput(text) +
                                                    " is not a PCI address (write DDDD:BB:DD.F, e.g. 0000:3b:00.4, or BB:DD.F)");
    return a;
}

Result<DeviceRef> DeviceRef::parse(std::string_view text) {
    DeviceRef r;
    if (text.empty()) return makeError(Errc::InvalidArgument, "an empty name is not a card or a VF");
    // CARD:VF — the last ':' followed only by digits, with a card before it. A PCI address
    // also has colons, but its last part holds a '.'.
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && colon > 0 && allDigits(text.substr(colon + 1)) &&
        (!looksLikeAddress(text) || looksLikeAddress(text.substr(0, colon)))) {
        auto card = parseCardName(text.substr(0, colon));
        if (!card) return std::move(card).error();
        auto vf = parseIndex(text.substr(colon + 1), "VF index");
        if (!vf) return std::move(vf).error();
        r.kind = Kind::Vf;
        r.card = *card;
        r.vf = *vf;
        return r;
    }
    if (looksLikeAddress(text)) {
        auto a = parseUserPciAddress(text);
        if (!a) return std::move(a).error();
        r.kind = Kind::Address;
        r.address = *a;
        return r;
    }
    if (colon != std::string_view::npos)
        return makeError(Errc::InvalidArgument, quoteInput(text) + " is not a card or a VF (write CARD:VF, e.g. 0:3, or a PCI address)");
    auto card = parseCardName(text);
    if (!card) return std::move(card).error();
    r.kind = Kind::Card;
    r.card = *card;
    return r;
}

}  // namespace aismi
