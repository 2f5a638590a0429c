#include "terminal_safe.hpp"

namespace aismi::cli {
namespace {

bool passes(unsigned char c) { return c >= 0x20 ? c != 0x7f : c == '\n' || c == '\t'; }

}  // namespace

TerminalSafeBuf::int_type TerminalSafeBuf::overflow(int_type ch) {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    const char c = traits_type::to_char_type(ch);
    return xsputn(&c, 1) == 1 ? ch : traits_type::eof();
}

std::streamsize TerminalSafeBuf::xsputn(const char* s, std::streamsize n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::streamsize run = 0;  // printable bytes not yet handed on
    for (std::streamsize i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (passes(c)) {
            ++run;
            continue;
        }
        if (run && sink_->sputn(s + i - run, run) != run) return i - run;
        run = 0;
        const char escaped[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
        if (sink_->sputn(escaped, 4) != 4) return i;
    }
    if (run && sink_->sputn(s + n - run, run) != run) return n - run;
    return n;
}

}  // namespace aismi::cli
