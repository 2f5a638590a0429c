// Named points where aismid can be made to die on purpose, as `kill -9` would at that
// instant: the crash-consistency tests set AISMI_CRASH_AT=NAME (a test hook, documented in
// docs/reliability.md; unset, it costs one comparison). Only steps that journal first have one.
#pragma once

#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unistd.h>

namespace aismi {

inline void crashPoint(std::string_view name) {
    static const std::string at = [] {
        const char* v = std::getenv("AISMI_CRASH_AT");
        return std::string(v ? v : "");
    }();
    if (!at.empty() && at == name) ::kill(::getpid(), SIGKILL);
}

}  // namespace aismi
