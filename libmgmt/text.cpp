#include <aismi/text.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <optional>

namespace aismi::text {

std::string_view trim(std::string_view s) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

Result<uint64_t> parseUnsigned(std::string_view s, std::string_view what) {
    std::string_view t = trim(s);
    int base = 10;
    if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
        t.remove_prefix(2);
        base = 16;
    }
    uint64_t value = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value, base);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size())
        return makeError(Errc::MalformedData,
                         std::string(what) + ": '" + std::string(trim(s)) + "' is not an unsigned number");
    return value;
}

Result<double> parseDouble(std::string_view s, std::string_view what) {
    const std::string t(trim(s));
    char* end = nullptr;
    errno = 0;
    const double v = t.empty() ? 0 : std::strtod(t.c_str(), &end);
    if (t.empty() || errno != 0 || end != t.c_str() + t.size() || !std::isfinite(v))
        return makeError(Errc::MalformedData, std::string(what) + ": '" + t + "' is not a number");
    return v;
}

Result<KeyValues> parseKeyValues(std::string_view content, std::string_view what) {
    KeyValues kv;
    size_t lineNo = 0;
    while (!content.empty()) {
        const size_t nl = content.find('\n');
        std::string_view line = trim(content.substr(0, nl));
        content = nl == std::string_view::npos ? std::string_view{} : content.substr(nl + 1);
        ++lineNo;
        if (line.empty() || line.front() == '#') continue;
        const size_t sp = line.find_first_of(" \t");
        const auto where = [&] { return std::string(what) + " line " + std::to_string(lineNo); };
        if (sp == std::string_view::npos)
            return makeError(Errc::MalformedData, where() + ": expected 'key value', got '" + std::string(line) + "'");
        std::string key(line.substr(0, sp));
        if (!kv.emplace(key, std::string(trim(line.substr(sp)))).second)
            return makeError(Errc::MalformedData, where() + ": '" + key + "' appears twice");
    }
    return kv;
}

Result<std::string> requireString(const KeyValues& kv, std::string_view key, std::string_view what) {
    auto it = kv.find(key);
    if (it == kv.end()) return makeError(Errc::MalformedData, std::string(what) + ": '" + std::string(key) + "' is missing");
    return it->second;
}

Result<uint64_t> requireUnsigned(const KeyValues& kv, std::string_view key, std::string_view what) {
    auto s = requireString(kv, key, what);
    if (!s) return std::move(s).error();
    return parseUnsigned(*s, std::string(what) + ": " + std::string(key));
}

}  // namespace aismi::text

namespace aismi::text {

Result<uint32_t> requirePercent(const KeyValues& kv, std::string_view key, std::string_view what) {
    auto v = requireUnsigned(kv, key, what);
    if (!v) return std::move(v).error();
    if (*v > 100)
        return makeError(Errc::MalformedData, std::string(what) + ": " + std::string(key) + " " + std::to_string(*v) + " is above 100");
    return static_cast<uint32_t>(*v);
}

Result<uint64_t> parseSizeMib(std::string_view text, std::string_view what) {
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    std::string unit(text.substr(digits, 8));
    std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    uint64_t scale = 0;
    // As users type them: 32G, 32g, 32Gi, 32GiB. Binary units only.
    for (auto [u, s] : {std::pair{"", 1ull}, {"m", 1ull}, {"mi", 1ull}, {"mib", 1ull}, {"g", 1024ull}, {"gi", 1024ull}, {"gib", 1024ull},
                        {"t", 1024ull * 1024}, {"ti", 1024ull * 1024}, {"tib", 1024ull * 1024}})
        if (unit == u) scale = s;
    const std::string shown(text.substr(0, 32));
    if (digits > 0 && (unit == "mb" || unit == "gb" || unit == "tb"))
        return makeError(Errc::InvalidArgument, std::string(what) + ": '" + shown + "': decimal or binary? aismi's sizes are binary; write " +
                                                    std::string(text.substr(0, digits)) + static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0]))) +
                                                    " or " + std::string(text.substr(0, digits)) +
                                                    static_cast<char>(std::toupper(static_cast<unsigned char>(unit[0]))) + "iB (1 GiB = 1024 MiB)");
    if (digits == 0 || digits > 19 || scale == 0)
        return makeError(Errc::InvalidArgument, std::string(what) + ": '" + shown +
                                                    "' is not a size (a whole number of MiB, or with M, MiB, G, GiB, T or TiB: 512, 8G)");
    const uint64_t n = std::stoull(std::string(text.substr(0, digits)));
    if (n == 0 || n > (uint64_t{1} << 40) / scale)
        return makeError(Errc::InvalidArgument, std::string(what) + ": '" + shown + "' is out of range (1 MiB to 1 EiB)");
    return n * scale;
}

Result<uint32_t> parseRatio(std::string_view text, uint32_t min, uint32_t max, std::string_view what) {
    const auto bad = [&](const std::string& why) {
        return makeError(Errc::InvalidArgument, std::string(what) + ": '" + std::string(text.substr(0, 32)) + "' " + why + " (a ratio from " +
                                                    ratioText(min) + " to " + ratioText(max) + " with at most two decimals, e.g. 1.5)");
    };
    const size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    const auto digits = [](std::string_view s) { return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }); };
    if (text.empty()) return bad("is empty");
    if (whole.empty() || !digits(whole) || !digits(fraction) || (dot != std::string_view::npos && fraction.empty())) return bad("is not a number");
    if (fraction.size() > 2) return bad("has more than two decimals");
    if (whole.size() > 6) return bad("is out of range");
    uint32_t v = 0;
    for (char c : whole) v = v * 10 + static_cast<uint32_t>(c - '0');
    v *= 100;
    if (!fraction.empty()) v += 10 * static_cast<uint32_t>(fraction[0] - '0');
    if (fraction.size() == 2) v += static_cast<uint32_t>(fraction[1] - '0');
    if (v < min || v > max) return bad("is out of range");
    return v;
}

std::string ratioText(uint32_t hundredths) {
    std::string s = std::to_string(hundredths / 100) + "." + std::to_string(hundredths / 10 % 10);
    if (hundredths % 10) s += std::to_string(hundredths % 10);
    return s;
}

namespace {

// Digits only, exactly `n` of them, or nullopt.
std::optional<int> fixedDigits(std::string_view s, size_t n) {
    if (s.size() != n || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
}

// "HH:MM" or "HH:MM:SS" into `tm`.
bool parseClock(std::string_view s, std::tm& tm) {
    const auto h = fixedDigits(s.substr(0, 2), 2);
    if (!h || s.size() < 5 || s[2] != ':') return false;
    const auto m = fixedDigits(s.substr(3, 2), 2);
    std::optional<int> sec = 0;
    if (s.size() == 8 && s[5] == ':') sec = fixedDigits(s.substr(6, 2), 2);
    else if (s.size() != 5) return false;
    if (!m || !sec || *h > 23 || *m > 59 || *sec > 60) return false;
    tm.tm_hour = *h, tm.tm_min = *m, tm.tm_sec = *sec;
    return true;
}

}  // namespace

Result<int64_t> parseTimePoint(std::string_view text, int64_t now, std::string_view what) {
    const auto bad = [&](const std::string& why) {
        return makeError(Errc::InvalidArgument, std::string(what) + ": '" + std::string(text.substr(0, 40)) + "' " + why +
                                                    " (e.g. \"2026-11-24 18:00\", \"18:00\", \"10m ago\", \"-2h\", \"yesterday\", \"@1700000000\")");
    };
    if (text.empty()) return bad("is empty");
    if (text.size() > 40) return bad("is too long to be a time");
    if (text == "now") return now;
    if (text[0] == '@') {
        auto secs = parseUnsigned(text.substr(1), what);
        if (!secs || *secs > 253402300799ULL) return bad("is not a unix time (seconds, up to the year 9999)");
        return static_cast<int64_t>(*secs);
    }
    // A time ago: "-2h", "2h ago", "10m ago".
    std::string_view ago = text;
    bool relative = false;
    if (ago.front() == '-') ago.remove_prefix(1), relative = true;
    else if (ago.size() > 4 && ago.substr(ago.size() - 4) == " ago") ago.remove_suffix(4), relative = true;
    if (relative) {
        // "10m", "10 min", "10 minutes": the number, then a unit as people write it.
        size_t digits = 0;
        while (digits < ago.size() && ago[digits] >= '0' && ago[digits] <= '9') ++digits;
        std::string_view unit = ago.substr(digits);
        if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
        if (digits == 0 || unit.empty()) return bad("is not a time ago");
        struct Unit {
            std::string_view name;
            int64_t seconds;
        };
        static constexpr Unit kUnits[] = {{"s", 1},        {"sec", 1},        {"secs", 1},      {"second", 1},   {"seconds", 1},
                                          {"m", 60},       {"min", 60},       {"mins", 60},     {"minute", 60},  {"minutes", 60},
                                          {"h", 3600},     {"hour", 3600},    {"hours", 3600},  {"d", 86400},    {"day", 86400},
                                          {"days", 86400}};
        int64_t scale = 0;
        for (const Unit& u : kUnits)
            if (unit == u.name) scale = u.seconds;
        if (!scale) return bad("has no unit (s, m, h or d, or seconds, minutes, hours, days)");
        auto n = parseUnsigned(ago.substr(0, digits), what);
        if (!n) return bad("is not a whole number with a unit");
        if (*n * static_cast<uint64_t>(scale) > 3650ULL * 86400) return bad("is more than 3650 days ago");
        return now - static_cast<int64_t>(*n) * scale;
    }
    const std::time_t t = static_cast<std::time_t>(now);
    std::tm tm{};
    if (!localtime_r(&t, &tm)) return bad("cannot be placed in local time");
    tm.tm_isdst = -1;
    if (text == "today" || text == "yesterday") {
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        if (text == "yesterday") tm.tm_mday -= 1;
    } else if (text.size() >= 10 && text[4] == '-' && text[7] == '-') {
        const auto y = fixedDigits(text.substr(0, 4), 4), mo = fixedDigits(text.substr(5, 2), 2), d = fixedDigits(text.substr(8, 2), 2);
        if (!y || !mo || !d || *y < 1970 || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return bad("is not a date (YYYY-MM-DD)");
        tm.tm_year = *y - 1900, tm.tm_mon = *mo - 1, tm.tm_mday = *d;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        if (text.size() > 10) {
            if (text[10] != ' ' && text[10] != 'T') return bad("is not a date and time (YYYY-MM-DD HH:MM[:SS])");
            if (!parseClock(text.substr(11), tm)) return bad("has no valid time of day (HH:MM[:SS])");
        }
        // 2026-02-31 would roll over into March: refuse a date that is not on the calendar.
        std::tm check = tm;
        if (std::mktime(&check) == -1 || check.tm_mday != *d || check.tm_mon != *mo - 1) return bad("is not a date on the calendar");
    } else if (!parseClock(text, tm)) {
        return bad("is not a time this understands");
    }
    const std::time_t at = std::mktime(&tm);
    if (at == -1) return bad("cannot be placed in local time");
    return static_cast<int64_t>(at);
}

Result<Budget> parseBudget(std::string_view text, std::string_view what, std::string_view example) {
    const size_t slash = text.find('/');
    const auto digits = [](std::string_view d) { return !d.empty() && d.size() <= 6 && d.find_first_not_of("0123456789") == std::string_view::npos; };
    const std::string_view count = text.substr(0, slash), seconds = slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);
    const auto number = [](std::string_view d) {
        unsigned v = 0;
        for (char c : d) v = v * 10 + static_cast<unsigned>(c - '0');
        return v;
    };
    if (!digits(count) || !digits(seconds) || number(count) < 1 || number(count) > 100 || number(seconds) < 1 || number(seconds) > 604800)
        return makeError(Errc::InvalidArgument, std::string(what) + " takes N/SECONDS (N 1 to 100, SECONDS 1 to 604800, e.g. " + std::string(example) +
                                                    "), not '" + std::string(text.substr(0, 40)) + "'");
    return Budget{number(count), number(seconds)};
}

namespace {
bool isControl(unsigned char c, bool multiline) {
    if (multiline && (c == '\n' || c == '\t')) return false;
    return c < 0x20 || c == 0x7f;
}
}  // namespace

std::optional<size_t> firstControlCharacter(std::string_view s, bool multiline) {
    for (size_t i = 0; i < s.size(); ++i)
        if (isControl(static_cast<unsigned char>(s[i]), multiline)) return i;
    return std::nullopt;
}

std::string escapeControl(std::string_view s, bool multiline) {
    if (!firstControlCharacter(s, multiline)) return std::string(s);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (isControl(c, multiline)) out += std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
        else out += ch;
    }
    return out;
}

bool validUtf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        size_t n = 0;
        uint32_t cp = 0;
        if (c < 0x80) n = 1, cp = c;
        else if ((c & 0xe0) == 0xc0) n = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) n = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) n = 4, cp = c & 0x07;
        else return false;
        if (i + n > s.size()) return false;
        for (size_t k = 1; k < n; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kSmallest[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

Result<bool> parseBoolean(std::string_view s, std::string_view what) {
    std::string v(s.substr(0, 8));
    std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (s.size() <= 8 && (v == "yes" || v == "true")) return true;
    if (s.size() <= 8 && (v == "no" || v == "false")) return false;
    return makeError(Errc::InvalidArgument, std::string(what) + " takes yes or no (or true or false), not '" + std::string(s.substr(0, 40)) + "'");
}

std::string counted(uint64_t n, std::string_view singular, std::string_view plural) {
    std::string noun(n == 1 ? singular : plural.empty() ? std::string(singular) + "s" : std::string(plural));
    return std::to_string(n) + " " + noun;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += separator;
        out += p;
    }
    return out;
}

std::string hex(std::span<const uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 15];
    }
    return out;
}

}  // namespace aismi::text
