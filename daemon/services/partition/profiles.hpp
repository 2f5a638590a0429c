// VF profiles: named resource shapes a VF is provisioned with: guaranteed compute units, a
// burst cap, memory, engines and a scheduling weight. Built in: whole, half, quarter and
// eighth of the card they are used on (no burst, weight 1); more, with absolute sizes, from
// profiles.d files (docs/partitioning.md has the format). Loaded at start and on SIGHUP.
#pragma once

#include <aismi/error.hpp>
#include <aismi/types.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aismi {

struct Profile {
    std::string name;
    unsigned fraction = 0;  // built in: 1/fraction of the card; 0: `shape` as it is
    Resources shape;        // for absolute profiles
    std::string origin;     // "built-in", or "FILE line N"

    /// What a VF of this profile holds on a card of `capacity`; nullopt when the profile can
    /// never fit on such a card (the reason goes to `why`).
    std::optional<Resources> on(const Resources& capacity, std::string* why = nullptr) const;
};

/// Memory the card keeps for its firmware (the driver's even split leaves it out too).
inline constexpr uint64_t kFirmwareReserveMib = 512;

/// The built-in profiles, then those of `dir/*.conf` in file name order. A missing directory
/// adds none; anything malformed is an error naming the file and line, and nothing is loaded.
Result<std::vector<Profile>> loadProfiles(const std::string& dir);

/// Parses one profiles.d file (`what` names it in errors).
Result<std::vector<Profile>> parseProfiles(std::string_view content, const std::string& what);

const Profile* findProfile(const std::vector<Profile>& profiles, std::string_view name);

/// "16 compute units bursting to 64 at weight 2, 8128 MiB, 1 engines" for messages and plans.
std::string shapeText(const Resources& r);

}  // namespace aismi
