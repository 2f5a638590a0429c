// A freeze a test arms on the simulated hardware (`aismi-sim freeze`): the Nth write made
// through the simulated sysfs from then on stalls, before it takes effect or just after, and
// waits there until `aismi-sim thaw` or until the writing process dies. The crash matrix
// (tests/integration/crash_matrix_test.cpp) kills aismid while it waits, so the kill lands
// at exactly that step of an operation, every run.
//
// The freeze lives in a file of the state directory (`freeze`), so that aismi-sim arms it and
// aismid, which makes the writes, honours it. Unarmed, a write costs one failed open(2).
#pragma once

#include <aismi/error.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace aismi::sim {

enum class FreezeWhen { Before, After };

struct FreezeState {
    FreezeWhen when = FreezeWhen::Before;
    unsigned at = 1;          // the write that stalls, counted from 1 when armed
    unsigned seen = 0;        // writes begun since armed
    std::string frozenPath;   // the write stalled now ("" while armed and not reached yet)
};

constexpr unsigned kMaxFreezeWrite = 1000000;

/// Arms a freeze in the state directory `dir` (replacing one armed before).
Result<void> armFreeze(const std::string& dir, FreezeWhen when, unsigned at);
/// Ends the freeze: a stalled write goes on; later writes pass.
Result<void> thaw(const std::string& dir);
/// The freeze armed in `dir`, if any.
Result<std::optional<FreezeState>> freezeState(const std::string& dir);

/// Called by the simulated sysfs before each write to `path`: counts it against a freeze armed
/// in `dir` and returns its number (0 when none is armed); at the armed write, when the freeze
/// is `before`, records where and waits for a thaw.
unsigned freezeBeforeWrite(const std::string& dir, std::string_view path);
/// Called after the write numbered `number` took effect (or failed): waits there when it is
/// the armed write and the freeze is `after`.
void freezeAfterWrite(const std::string& dir, std::string_view path, unsigned number);

}  // namespace aismi::sim
