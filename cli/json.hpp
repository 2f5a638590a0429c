// A small JSON writer for the CLI's machine-readable output (-j/--json).
#pragma once

#include "client_api.hpp"

#include <string>

namespace aismi::cli::json {

std::string quote(std::string_view s);
/// A bus value as JSON: null when not reported, numbers as numbers, lists as arrays.
std::string value(const Value& v);
/// The same, appended to `out` (thousands of rows: no temporaries).
void appendQuoted(std::string& out, std::string_view s);
void appendValue(std::string& out, const Value& v);
/// The same document on one line (for -l: one JSON document per line). The writer puts line
/// breaks and indentation only between tokens (strings escape theirs), so dropping them is exact.
std::string oneLine(const std::string& document);

}  // namespace aismi::cli::json
