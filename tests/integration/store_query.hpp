// Reading aismid's state store from a test, the way an operator with sqlite3 would: read-only,
// while aismid may be writing (a WAL reader sees the last commit).
#pragma once

#include <string>
#include <vector>

namespace aismi::test {

using Rows = std::vector<std::vector<std::string>>;

/// The rows of `sql` in the SQLite database `db` (NULL reads as ""); a failure to open or to
/// prepare is a test failure (ADD_FAILURE) and answers no rows.
Rows queryStore(const std::string& db, const std::string& sql);

}  // namespace aismi::test
