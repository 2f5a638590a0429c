// Files aismid is given to read: aismid.conf, a directory of drop-in files (profiles.d,
// layouts.d) and the trusted firmware keys. The directories and paths are the operator's, but
// what sits in them may be anything: a FIFO would block the loop in open(), a link to
// /dev/zero would fill memory. So every file is opened non-blocking, must be a regular file
// (after following links), and is capped in size (limits.hpp); anything else is one
// ConfigInvalid error naming the file, and the caller keeps what it had.
#pragma once

#include <aismi/error.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace aismi {

/// The content of `path`: a regular file of at most `maxBytes`, or ConfigInvalid naming it
/// (NotFound when it does not exist).
Result<std::string> readConfigFile(const std::string& path, size_t maxBytes);

/// (path, content) of each dir/*`extension` ("*.conf"), sorted by path, each read as
/// readConfigFile does. A missing directory holds none; one that cannot be listed, or a file
/// that cannot be read, is ConfigInvalid naming it.
Result<std::vector<std::pair<std::string, std::string>>> readConfDir(const std::string& dir, const std::string& extension = ".conf",
                                                                     size_t maxBytes = 0);

}  // namespace aismi
