#pragma once

#include <string>
#include <vector>

namespace aismi {

/// Runs aismid until SIGTERM/SIGINT; returns the process exit code.
int runDaemon(const std::vector<std::string>& args);

}  // namespace aismi
