#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace aismi::sim {

/// aismi-sim's whole command line (without argv[0]); returns the process exit code.
int runSimCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace aismi::sim
