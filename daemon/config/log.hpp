// aismid logs to stderr; under systemd the journal reads the <N> priority prefixes
// (sd-daemon(3)), elsewhere they are left out.
#pragma once

#include <string_view>

namespace aismi::log {

void info(std::string_view message);
void warning(std::string_view message);
void error(std::string_view message);

}  // namespace aismi::log
