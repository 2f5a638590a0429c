// A strict little JSON parser, so tests check that aismi's JSON parses and what it holds.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace aismi::test {

struct Json {
    using Object = std::map<std::string, Json>;
    using Array = std::vector<Json>;
    std::variant<std::nullptr_t, bool, double, std::string, Array, Object> v;

    bool isNull() const { return std::holds_alternative<std::nullptr_t>(v); }
    const Object& object() const { return std::get<Object>(v); }
    const Array& array() const { return std::get<Array>(v); }
    const std::string& str() const { return std::get<std::string>(v); }
    double num() const { return std::get<double>(v); }
    bool boolean() const { return std::get<bool>(v); }
    const Json& operator[](const std::string& k) const { return object().at(k); }
    const Json& operator[](size_t i) const { return array().at(i); }
};

/// The parsed document, or nullopt (with `error` set) when `text` is not valid JSON.
std::optional<Json> parseJson(const std::string& text, std::string* error = nullptr);

}  // namespace aismi::test
