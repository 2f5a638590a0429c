// aismi's command line, parsed into the Command it names. Pure: no bus, no output.
#pragma once

#include "command.hpp"

#include <string>
#include <vector>

namespace aismi::cli {

/// The command `args` (argv without argv[0]) names, checked and ready to run; --help is a
/// command too.
Result<Command> parseCli(const std::vector<std::string>& args);

}  // namespace aismi::cli
