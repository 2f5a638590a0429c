#include "json_parse.hpp"

#include <cstdlib>
#include <stdexcept>

namespace aismi::test {
namespace {

class Parser {
public:
    explicit Parser(const std::string& s) : s_(s) {}
    Json document() {
        Json j = value();
        ws();
        if (i_ != s_.size()) fail("trailing characters");
        return j;
    }

private:
    [[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what + " at offset " + std::to_string(i_)); }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
    }
    bool eat(char c) {
        ws();
        if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
        return false;
    }
    void expect(char c) {
        if (!eat(c)) fail(std::string("expected '") + c + "'");
    }
    bool word(const char* w) {
        const std::string ww(w);
        if (s_.compare(i_, ww.size(), ww) == 0) return i_ += ww.size(), true;
        return false;
    }
    std::string string() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            char c = s_[i_++];
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
            if (c == '\\') {
                if (i_ >= s_.size()) fail("bad escape");
                const char e = s_[i_++];
                if (e == 'n') c = '\n';
                else if (e == 't') c = '\t';
                else if (e == 'r') c = '\r';
                else if (e == 'u') {
                    c = static_cast<char>(std::strtol(s_.substr(i_, 4).c_str(), nullptr, 16));
                    i_ += 4;
                } else if (e == '"' || e == '\\' || e == '/') c = e;
                else fail("bad escape");
            }
            out += c;
        }
        expect('"');
        return out;
    }
    Json value() {
        ws();
        if (i_ >= s_.size()) fail("unexpected end");
        const char c = s_[i_];
        if (c == '{') {
            ++i_;
            Json::Object o;
            if (!eat('}')) {
                do {
                    ws();
                    std::string k = string();
                    expect(':');
                    if (!o.emplace(k, value()).second) fail("duplicate key " + k);
                } while (eat(','));
                expect('}');
            }
            return Json{o};
        }
        if (c == '[') {
            ++i_;
            Json::Array a;
            if (!eat(']')) {
                do a.push_back(value());
                while (eat(','));
                expect(']');
            }
            return Json{a};
        }
        if (c == '"') return Json{string()};
        if (word("true")) return Json{true};
        if (word("false")) return Json{false};
        if (word("null")) return Json{nullptr};
        char* end = nullptr;
        const double d = std::strtod(s_.c_str() + i_, &end);
        if (end == s_.c_str() + i_) fail("unexpected character");
        i_ = static_cast<size_t>(end - s_.c_str());
        return Json{d};
    }
    const std::string& s_;
    size_t i_ = 0;
};

}  // namespace

std::optional<Json> parseJson(const std::string& text, std::string* error) {
    try {
        return Parser(text).document();
    } catch (const std::exception& e) {
        if (error) *error = e.what();
        return std::nullopt;
    }
}

}  // namespace aismi::test
