// The text of a Boost.Program_options error, safe to take. Boost 1.74 builds it by replacing
// placeholders (%option%, %original_token%, %value%, ...) with what was given, until none is
// left: a token that itself holds one (`aismi --x%original_token%`) makes that loop forever
// (found by fuzz_cli_args). Here every '%' in what was given becomes '?' first.
#pragma once

#include <boost/program_options/errors.hpp>

#include <algorithm>
#include <map>
#include <string>

namespace aismi {

inline std::string optionErrorText(const boost::program_options::error& e) {
    const auto* named = dynamic_cast<const boost::program_options::error_with_option_name*>(&e);
    if (!named) return e.what();
    struct Defused : boost::program_options::error_with_option_name {
        explicit Defused(const error_with_option_name& original) : error_with_option_name(original) {
            const std::map<std::string, std::string> given = m_substitutions;
            for (auto [name, value] : given) {
                std::replace(value.begin(), value.end(), '%', '?');
                set_substitute(name, value);
            }
        }
    };
    return Defused(*named).what();
}

}  // namespace aismi
