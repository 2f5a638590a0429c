// A directory of drop-in files (profiles.d, layouts.d): every *.conf in file name order, with
// its content. A missing directory holds none; one that cannot be listed or a file that cannot
// be read is a ConfigInvalid error naming it.
#pragma once

#include <aismi/error.hpp>

#include <string>
#include <utility>
#include <vector>

namespace aismi {

/// (path, content) of each dir/*.conf, sorted by path.
Result<std::vector<std::pair<std::string, std::string>>> readConfDir(const std::string& dir);

}  // namespace aismi
