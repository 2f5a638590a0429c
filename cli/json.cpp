#include "json.hpp"

#include <charconv>
#include <cstdio>

namespace aismi::cli::json {

void appendQuoted(std::string& out, std::string_view s) {
    out += '"';
    size_t run = 0;  // start of the characters that need no escape, appended in one go
    for (size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.substr(run, i - run));
        run = i + 1;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\r': out += "\\r"; break;
        default: {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        }
        }
    }
    out.append(s.substr(run));
    out += '"';
}

void appendValue(std::string& out, const Value& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, NotAvailable>) out += "null";
            else if constexpr (std::is_same_v<T, bool>) out += x ? "true" : "false";
            else if constexpr (std::is_same_v<T, std::string>) appendQuoted(out, x);
            else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
                out += '[';
                for (size_t i = 0; i < x.size(); ++i) {
                    if (i) out += ',';
                    appendQuoted(out, x[i]);
                }
                out += ']';
            } else if constexpr (std::is_same_v<T, double>) {
                char buf[64];
                out.append(buf, static_cast<size_t>(std::snprintf(buf, sizeof buf, "%.3f", x)));
            } else {
                char buf[24];
                out.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, x).ptr - buf));
            }
        },
        v);
}

std::string quote(std::string_view s) {
    std::string out;
    appendQuoted(out, s);
    return out;
}

std::string value(const Value& v) {
    std::string out;
    appendValue(out, v);
    return out;
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
