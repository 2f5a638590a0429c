#include "json.hpp"

#include <cstdio>

namespace aismi::cli::json {

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string value(const Value& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, NotAvailable>) return "null";
            else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::string>) return quote(x);
            else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                std::string s = "[";
                for (size_t i = 0; i < x.size(); ++i) s += (i ? "," : "") + quote(x[i]);
                return s + "]";
            } else if constexpr (std::is_same_v<T, double>) {
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.3f", x);
                return buf;
            } else {
                return std::to_string(x);
            }
        },
        v);
}

std::string oneLine(const std::string& document) {
    std::string out;
    for (size_t i = 0; i < document.size(); ++i) {
        if (document[i] != '\n') {
            out += document[i];
            continue;
        }
        while (i + 1 < document.size() && document[i + 1] == ' ') ++i;  // the indentation
    }
    return out + "\n";
}

}  // namespace aismi::cli::json
