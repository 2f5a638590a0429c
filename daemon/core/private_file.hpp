// Files aismid writes are its own: created 0600 whatever the umask (aismid also sets umask 077
// at start, so SQLite's database, WAL and shared-memory files and every directory it makes are
// private too). A file replaced whole is written to a temporary file that nobody else can have
// prepared (O_EXCL | O_NOFOLLOW: a planted link or file is refused, not followed), synced,
// renamed over the old one, and the directory synced, so that a crash leaves the old content or
// the new, never a torn or empty file.
#pragma once

#include <aismi/error.hpp>

#include <string>

namespace aismi {

/// Replaces `path` with `content` as described above.
Result<void> replaceFilePrivately(const std::string& path, const std::string& content);

}  // namespace aismi
