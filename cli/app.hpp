#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace aismi::cli {

/// The whole aismi program (argv without argv[0]); returns the exit code.
int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace aismi::cli
