// Small, strict parsers for the text formats libmgmt reads: sysfs numbers and the
// "key value" lines of the vendor ABI and of the simulator's state files.
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aismi::text {

std::string_view trim(std::string_view s);
/// A whole unsigned number: decimal, or hexadecimal with a 0x prefix. `what` names the source
/// for the error ("bus/pci/devices/.../sriov_totalvfs").
Result<uint64_t> parseUnsigned(std::string_view s, std::string_view what);
/// A size in MiB: "512", "512M", "512MiB", "8G", "8GiB", "8Gi", "1T", "1TiB", units in either
/// case; whole numbers from 1 MiB to 1 EiB. "1.5G", "-1" and "" are refused (InvalidArgument,
/// naming `what`); "8GB" too, asking whether decimal or binary was meant.
Result<uint64_t> parseSizeMib(std::string_view s, std::string_view what);
Result<double> parseDouble(std::string_view s, std::string_view what);
/// A ratio with at most two decimals, in hundredths: "1.5" -> 150, "2" -> 200; from `min` to
/// `max` hundredths. "nan", "-1", "1e3", "1.333", "" are refused (InvalidArgument, naming `what`).
Result<uint32_t> parseRatio(std::string_view s, uint32_t min, uint32_t max, std::string_view what);
/// 150 -> "1.5", 125 -> "1.25", 100 -> "1.0".
std::string ratioText(uint32_t hundredths);

/// Lower-case hex of `bytes` ("00ff...").
std::string hex(std::span<const uint8_t> bytes);

/// Where the first control character (C0 or DEL) of `s` is, if it has one; with `multiline`,
/// newline and tab are text. Caller text must have none (escape sequences in a
/// reason or a tenant would reach every terminal that prints them).
std::optional<size_t> firstControlCharacter(std::string_view s, bool multiline = false);
/// `s` with each control character written as \xNN (and backslashes doubled), so that text
/// from elsewhere (libvirt's domain names, files, a store written by an older aismid) cannot
/// drive the terminal that prints it. With `multiline`, newlines and tabs stay.
std::string escapeControl(std::string_view s, bool multiline = false);

/// Whether `s` is well-formed UTF-8 (what D-Bus requires of every string): no stray or
/// missing continuation bytes, no overlong forms, no surrogates, nothing past U+10FFFF.
bool validUtf8(std::string_view s);

/// "1 engine", "2 engines", "0 VFs": a count with its noun in the right number (`plural`
/// defaults to `singular` + "s").
std::string counted(uint64_t n, std::string_view singular, std::string_view plural = {});

/// A yes-or-no setting: "yes", "no", "true" or "false", in either case; anything else is
/// InvalidArgument naming `what`.
Result<bool> parseBoolean(std::string_view s, std::string_view what);

/// The parts with `separator` between them ("a; b; c").
std::string join(const std::vector<std::string>& parts, std::string_view separator);

/// "N/SECONDS" (at most N times within SECONDS): N 1 to 100, SECONDS 1 to 604800 (a week);
/// anything else is InvalidArgument naming `what` and giving `example`.
struct Budget {
    unsigned count = 0;
    unsigned seconds = 0;
};
Result<Budget> parseBudget(std::string_view s, std::string_view what, std::string_view example);

/// A point in time as `aismi events --since` takes it, in unix seconds: "@1700000000",
/// "2026-11-24", "2026-11-24 18:00[:05]" (or with a T), "18:00[:05]" (today), "now",
/// "today", "yesterday" (local time), or a time ago: "10m ago", "-2h", "3d ago", "10 minutes
/// ago" (s, m, h, d, or their words; at most 3650 days). Anything else is InvalidArgument naming `what`.
Result<int64_t> parseTimePoint(std::string_view s, int64_t now, std::string_view what);

/// Lines of "key value" (value may contain spaces; blank lines and '#' comments skipped).
/// Duplicate keys and lines without a value are errors naming the line.
using KeyValues = std::map<std::string, std::string, std::less<>>;
Result<KeyValues> parseKeyValues(std::string_view content, std::string_view what);
Result<uint64_t> requireUnsigned(const KeyValues& kv, std::string_view key, std::string_view what);
Result<std::string> requireString(const KeyValues& kv, std::string_view key, std::string_view what);
/// A whole percentage, 0 to 100.
Result<uint32_t> requirePercent(const KeyValues& kv, std::string_view key, std::string_view what);

}  // namespace aismi::text
