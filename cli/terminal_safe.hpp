// Everything aismi prints on stdout passes through one filter: a control character (an escape sequence,
// a bell, a backspace) that reached aismid's answers from elsewhere — a libvirt domain name, a
// file, a store written by an older aismid — is printed as \xNN instead of driving the
// terminal. Newlines and tabs are aismi's own layout and pass. aismi itself prints no control
// characters (no colours), and JSON output escapes them already.
#pragma once

#include <ostream>
#include <streambuf>

namespace aismi::cli {

class TerminalSafeBuf : public std::streambuf {
public:
    explicit TerminalSafeBuf(std::streambuf* sink) : sink_(sink) {}
    std::streambuf* sink() const { return sink_; }

protected:
    int_type overflow(int_type ch) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override { return sink_->pubsync(); }

private:
    std::streambuf* sink_;
};

/// Routes `stream` through a TerminalSafeBuf for as long as this lives.
class TerminalSafe {
public:
    explicit TerminalSafe(std::ostream& stream) : stream_(stream), buf_(stream.rdbuf()) { stream_.rdbuf(&buf_); }
    ~TerminalSafe() {
        stream_.flush();
        stream_.rdbuf(buf_.sink());
    }
    TerminalSafe(const TerminalSafe&) = delete;
    TerminalSafe& operator=(const TerminalSafe&) = delete;

private:
    std::ostream& stream_;
    TerminalSafeBuf buf_;
};

}  // namespace aismi::cli
