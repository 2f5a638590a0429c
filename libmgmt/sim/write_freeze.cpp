#include "write_freeze.hpp"

#include <aismi/text.hpp>

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace aismi::sim {
namespace {

std::string freezePath(const std::string& dir) { return dir + "/freeze"; }

// The freeze file, open and locked for as long as this lives.
class LockedFile {
public:
    LockedFile(const std::string& path, int flags, int lock) : fd_(::open(path.c_str(), flags | O_CLOEXEC, 0600)) {
        if (fd_ >= 0 && ::flock(fd_, lock) != 0) close();
    }
    ~LockedFile() { close(); }
    LockedFile(const LockedFile&) = delete;
    LockedFile& operator=(const LockedFile&) = delete;

    bool ok() const { return fd_ >= 0; }

    std::string read() const {
        std::string text;
        char buf[512];
        ssize_t n;
        off_t at = 0;
        while ((n = ::pread(fd_, buf, sizeof buf, at)) > 0) {
            text.append(buf, static_cast<size_t>(n));
            at += n;
        }
        return text;
    }

    bool write(const std::string& text) const {
        return ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
    }

private:
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    int fd_;
};

std::string_view whenName(FreezeWhen w) { return w == FreezeWhen::Before ? "before" : "after"; }

std::string encode(const FreezeState& s) {
    std::string text = "when " + std::string(whenName(s.when)) + "\nat " + std::to_string(s.at) + "\nseen " + std::to_string(s.seen) + "\n";
    if (!s.frozenPath.empty()) text += "frozen " + s.frozenPath + "\n";
    return text;
}

Result<FreezeState> decode(std::string_view text) {
    const std::string what = "the freeze file";
    auto kv = text::parseKeyValues(text, what);
    if (!kv) return std::move(kv).error();
    FreezeState s;
    auto when = text::requireString(*kv, "when", what);
    if (!when) return std::move(when).error();
    if (*when != "before" && *when != "after") return makeError(Errc::MalformedData, what + ": 'when' is '" + *when + "'");
    s.when = *when == "before" ? FreezeWhen::Before : FreezeWhen::After;
    auto at = text::requireUnsigned(*kv, "at", what);
    auto seen = text::requireUnsigned(*kv, "seen", what);
    if (!at) return std::move(at).error();
    if (!seen) return std::move(seen).error();
    if (*at < 1 || *at > kMaxFreezeWrite || *seen > kMaxFreezeWrite)
        return makeError(Errc::MalformedData, what + ": a count is out of range");
    s.at = static_cast<unsigned>(*at);
    s.seen = static_cast<unsigned>(*seen);
    if (auto it = kv->find("frozen"); it != kv->end()) s.frozenPath = it->second;
    return s;
}

// Whether write `number`, frozen at `path`, must still wait (not thawed nor armed anew).
bool stillFrozen(const std::string& dir, const std::string& path, unsigned number) {
    LockedFile f(freezePath(dir), O_RDONLY, LOCK_SH);
    if (!f.ok()) return false;  // thawed
    auto s = decode(f.read());
    return s && s->frozenPath == path && s->at == number;
}

}  // namespace

Result<void> armFreeze(const std::string& dir, FreezeWhen when, unsigned at) {
    if (at < 1 || at > kMaxFreezeWrite)
        return makeError(Errc::InvalidArgument, "the write to freeze must be 1 to " + std::to_string(kMaxFreezeWrite));
    LockedFile f(freezePath(dir), O_RDWR | O_CREAT, LOCK_EX);
    if (!f.ok() || !f.write(encode(FreezeState{when, at, 0, {}}))) return Error::fromErrno(errno, "arm a freeze in " + dir);
    return {};
}

Result<void> thaw(const std::string& dir) {
    if (::unlink(freezePath(dir).c_str()) != 0 && errno != ENOENT) return Error::fromErrno(errno, "thaw " + freezePath(dir));
    return {};
}

Result<std::optional<FreezeState>> freezeState(const std::string& dir) {
    LockedFile f(freezePath(dir), O_RDONLY, LOCK_SH);
    if (!f.ok()) {
        if (errno == ENOENT) return std::optional<FreezeState>();
        return Error::fromErrno(errno, "read " + freezePath(dir));
    }
    auto s = decode(f.read());
    if (!s) return std::move(s).error();
    return std::optional<FreezeState>(std::move(*s));
}

namespace {

// Records that write `number` to `path` stalls `moment` it, then waits until thawed. Returns at
// once when it is not the armed write and moment, or a freeze was never armed.
void stallIfArmed(const std::string& dir, std::string_view path, FreezeWhen moment, unsigned number) {
    FreezeState s;
    {
        LockedFile f(freezePath(dir), O_RDWR, LOCK_EX);
        if (!f.ok()) return;
        auto decoded = decode(f.read());
        if (!decoded || !decoded->frozenPath.empty() || decoded->at != number || decoded->when != moment) return;
        s = std::move(*decoded);
        s.frozenPath = std::string(path);
        if (!f.write(encode(s))) return;
    }
    while (stillFrozen(dir, s.frozenPath, number)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace

unsigned freezeBeforeWrite(const std::string& dir, std::string_view path) {
    unsigned number = 0;
    {
        LockedFile f(freezePath(dir), O_RDWR, LOCK_EX);
        if (!f.ok()) return 0;  // not armed: the common case
        auto s = decode(f.read());
        if (!s || s->seen >= kMaxFreezeWrite) return 0;  // damaged: nothing stalls
        number = ++s->seen;
        if (!f.write(encode(*s))) return 0;
    }
    stallIfArmed(dir, path, FreezeWhen::Before, number);
    return number;
}

void freezeAfterWrite(const std::string& dir, std::string_view path, unsigned number) {
    if (number) stallIfArmed(dir, path, FreezeWhen::After, number);
}

}  // namespace aismi::sim
