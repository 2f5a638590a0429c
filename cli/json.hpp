// A small JSON writer for the CLI's machine-readable output (-j/--json).
#pragma once

#include "inventory.hpp"

#include <string>

namespace aismi::cli::json {

std::string quote(const std::string& s);
/// A bus value as JSON: null when not reported, numbers as numbers, lists as arrays.
std::string value(const Value& v);

}  // namespace aismi::cli::json
