#include "conf_dir.hpp"
#include "profiles.hpp"

#include <aismi/text.hpp>

#include <algorithm>
#include <charconv>
#include <sstream>

namespace aismi {
namespace {

constexpr size_t kMaxNameLength = 32;

bool validName(std::string_view n) {
    if (n.empty() || n.size() > kMaxNameLength) return false;
    if (!std::isalnum(static_cast<unsigned char>(n[0]))) return false;
    return std::all_of(n.begin(), n.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

Result<uint64_t> wholeNumber(std::string_view text, const std::string& what) {
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return makeError(Errc::ConfigInvalid, what + ": '" + std::string(text.substr(0, 32)) + "' is not a whole number");
    return v;
}

std::vector<Profile> builtIns() {
    std::vector<Profile> out;
    for (auto [name, fraction] : {std::pair{"whole", 1u}, {"half", 2u}, {"quarter", 4u}, {"eighth", 8u}})
        out.push_back(Profile{name, fraction, {}, "built-in"});
    return out;
}

}  // namespace

std::optional<Resources> Profile::on(const Resources& capacity, std::string* why) const {
    Resources r = shape;
    if (fraction) {
        const uint64_t memory = capacity.memoryMib > kFirmwareReserveMib ? capacity.memoryMib - kFirmwareReserveMib : 0;
        r = Resources{capacity.computeUnits / fraction, memory / fraction, capacity.engines / fraction};  // no burst, weight 1
    }
    const auto never = [&](std::string reason) -> std::optional<Resources> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    if (r.computeUnits == 0 || r.memoryMib == 0) return never("1/" + std::to_string(fraction) + " of this card is less than one compute unit or MiB");
    if (r.computeUnits > capacity.computeUnits)
        return never("needs " + std::to_string(r.computeUnits) + " compute units, the card has " + std::to_string(capacity.computeUnits));
    if (r.memoryMib > capacity.memoryMib)
        return never("needs " + std::to_string(r.memoryMib) + " MiB, the card has " + std::to_string(capacity.memoryMib));
    if (r.engines > capacity.engines)
        return never("needs " + std::to_string(r.engines) + " engines, the card has " + std::to_string(capacity.engines));
    if (r.burstCap() > capacity.computeUnits)
        return never("bursts to " + std::to_string(r.burstCap()) + " compute units, the card has " + std::to_string(capacity.computeUnits));
    return r;
}

Result<std::vector<Profile>> parseProfiles(std::string_view content, const std::string& what) {
    std::vector<Profile> out;
    struct Seen {
        bool compute = false, memory = false, engines = false, burst = false, weight = false;
        unsigned line = 0;
    } seen;
    const auto complete = [&]() -> Result<void> {
        if (out.empty()) return {};
        if (!seen.compute || !seen.memory)
            return makeError(Errc::ConfigInvalid, what + " line " + std::to_string(seen.line) + ": profile '" + out.back().name +
                                                      "' needs compute_units and memory");
        const Resources& r = out.back().shape;
        if (seen.burst && r.burstUnits < r.computeUnits)
            return makeError(Errc::ConfigInvalid, what + " line " + std::to_string(seen.line) + ": profile '" + out.back().name + "' bursts to " +
                                                      std::to_string(r.burstUnits) + " compute units, less than the " +
                                                      std::to_string(r.computeUnits) + " it is guaranteed");
        return {};
    };
    std::istringstream in{std::string(content)};
    unsigned lineNo = 0;
    for (std::string raw; std::getline(in, raw);) {
        ++lineNo;
        const std::string here = what + " line " + std::to_string(lineNo);
        const std::string uncommented = raw.substr(0, raw.find('#'));
        const std::string_view line = text::trim(uncommented);
        if (line.empty()) continue;
        if (line.front() == '[') {
            if (line.back() != ']' || !line.starts_with("[profile "))
                return makeError(Errc::ConfigInvalid, here + ": expected '[profile NAME]', got '" + std::string(line.substr(0, 64)) + "'");
            const std::string_view name = text::trim(line.substr(9, line.size() - 10));
            if (!validName(name))
                return makeError(Errc::ConfigInvalid, here + ": '" + std::string(name.substr(0, 40)) +
                                                          "' is not a profile name (letters, digits, '-' and '_', at most 32, starting with a letter or digit)");
            if (auto r = complete(); !r) return std::move(r).error();
            for (const auto& p : out)
                if (p.name == name) return makeError(Errc::ConfigInvalid, here + ": profile '" + std::string(name) + "' is defined twice");
            out.push_back(Profile{std::string(name), 0, {}, here});
            seen = Seen{false, false, false, false, false, lineNo};
            continue;
        }
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) return makeError(Errc::ConfigInvalid, here + ": expected 'key = value'");
        if (out.empty()) return makeError(Errc::ConfigInvalid, here + ": a setting before the first '[profile NAME]'");
        const std::string_view key = text::trim(line.substr(0, eq)), value = text::trim(line.substr(eq + 1));
        Profile& p = out.back();
        const auto once = [&](bool& flag) -> Result<void> {
            if (flag) return makeError(Errc::ConfigInvalid, here + ": " + std::string(key) + " is given twice");
            flag = true;
            return {};
        };
        if (key == "compute_units") {
            if (auto r = once(seen.compute); !r) return std::move(r).error();
            auto n = wholeNumber(value, here + ": compute_units");
            if (!n) return std::move(n).error();
            if (*n == 0 || *n > UINT32_MAX) return makeError(Errc::ConfigInvalid, here + ": compute_units must be 1 to 4294967295");
            p.shape.computeUnits = static_cast<uint32_t>(*n);
        } else if (key == "memory") {
            if (auto r = once(seen.memory); !r) return std::move(r).error();
            auto n = text::parseSizeMib(value, here + ": memory");
            if (!n) return makeError(Errc::ConfigInvalid, n.error().message);
            p.shape.memoryMib = *n;
        } else if (key == "engines") {
            if (auto r = once(seen.engines); !r) return std::move(r).error();
            auto n = wholeNumber(value, here + ": engines");
            if (!n) return std::move(n).error();
            if (*n > 1024) return makeError(Errc::ConfigInvalid, here + ": engines must be 0 to 1024");
            p.shape.engines = static_cast<uint32_t>(*n);
        } else if (key == "burst_units") {
            if (auto r = once(seen.burst); !r) return std::move(r).error();
            auto n = wholeNumber(value, here + ": burst_units");
            if (!n) return std::move(n).error();
            if (*n == 0 || *n > UINT32_MAX) return makeError(Errc::ConfigInvalid, here + ": burst_units must be 1 to 4294967295");
            p.shape.burstUnits = static_cast<uint32_t>(*n);
        } else if (key == "weight") {
            if (auto r = once(seen.weight); !r) return std::move(r).error();
            auto n = wholeNumber(value, here + ": weight");
            if (!n) return std::move(n).error();
            if (*n < 1 || *n > 1000) return makeError(Errc::ConfigInvalid, here + ": weight must be 1 to 1000");
            p.shape.weight = static_cast<uint32_t>(*n);
        } else {
            return makeError(Errc::ConfigInvalid, here + ": unknown setting '" + std::string(key.substr(0, 40)) +
                                                      "' (a profile has compute_units, burst_units, memory, engines and weight)");
        }
    }
    if (auto r = complete(); !r) return std::move(r).error();
    return out;
}

Result<std::vector<Profile>> loadProfiles(const std::string& dir) {
    std::vector<Profile> all = builtIns();
    auto files = readConfDir(dir);
    if (!files) return std::move(files).error();
    for (const auto& [file, content] : *files) {
        auto parsed = parseProfiles(content, file);
        if (!parsed) return std::move(parsed).error();
        for (auto& p : *parsed) {
            if (const Profile* other = findProfile(all, p.name))
                return makeError(Errc::ConfigInvalid, p.origin + ": profile '" + p.name + "' is already defined (" + other->origin + ")");
            all.push_back(std::move(p));
        }
    }
    return all;
}

std::string shapeText(const Resources& r) {
    return std::to_string(r.computeUnits) + " compute units" +
           (r.burstCap() > r.computeUnits ? " bursting to " + std::to_string(r.burstCap()) + " at weight " + std::to_string(r.weight) : "") +
           ", " + std::to_string(r.memoryMib) + " MiB, " + text::counted(r.engines, "engine");
}

const Profile* findProfile(const std::vector<Profile>& profiles, std::string_view name) {
    for (const auto& p : profiles)
        if (p.name == name) return &p;
    return nullptr;
}

}  // namespace aismi
