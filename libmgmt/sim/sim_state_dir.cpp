#include "sim_state_dir.hpp"

#include <cerrno>
#include <chrono>
#include <mutex>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aismi::sim {
namespace {

constexpr const char* kConfigFile = "sim.conf";

Result<std::string> readWhole(const std::string& path) {
    // Never through a symbolic link: the state directory's files are its own.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return Error::fromErrno(errno, "open " + path);
    std::string data;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
    const int err = errno;
    ::close(fd);
    if (n < 0) return Error::fromErrno(err, "read " + path);
    return data;
}

// Write-to-temporary, fsync, rename, fsync the directory: after a crash the file holds either
// the old or the new state, never a mixture.
Result<void> replaceFile(const std::string& dir, const std::string& path, const std::string& content) {
    // The temporary is created, never reused: O_EXCL|O_NOFOLLOW refuse a file or a symbolic
    // link someone left at the name (a stale temporary of a dead process with the same pid, or
    // a link planted to make us write elsewhere); it is removed (the link itself, not what it
    // points to) and the name created afresh.
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0)
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return Error::fromErrno(errno, "create " + tmp);
    size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return Error::fromErrno(err, "write " + tmp);
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return Error::fromErrno(err, "sync " + tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return Error::fromErrno(err, "rename " + tmp);
    }
    if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
    return {};
}

class DirLock {
public:
    explicit DirLock(int fd) : fd_(fd) { while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {} }
    ~DirLock() { ::flock(fd_, LOCK_UN); }
    DirLock(const DirLock&) = delete;
    DirLock& operator=(const DirLock&) = delete;

private:
    int fd_;
};

Result<int> openLock(const std::string& dir) {
    const std::string path = dir + "/lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Error::fromErrno(errno, "open " + path);
    return fd;
}

}  // namespace

// How long a card read from its file is trusted before the file is checked again. Other
// processes' changes (aismi-sim) become visible within this time; this process's own changes
// at once. It keeps a poll of hundreds of VFs from stat()ing the file for every attribute.
constexpr std::chrono::milliseconds kRevalidateAfter{2};

struct SimStateDir::Cached {
    std::mutex mutex;  // the daemon reads cards from several worker threads
    std::chrono::steady_clock::time_point checkedAt;
    bool valid = false;
    ino_t ino = 0;
    int64_t mtimeNs = 0, ctimeNs = 0;
    off_t size = 0;
    std::shared_ptr<const SimCard> card;
};

SimStateDir::SimStateDir(std::string dir, SimConfig config) : dir_(std::move(dir)), config_(config) {
    for (unsigned i = 0; i < config_.cards; ++i) cache_.push_back(std::make_unique<Cached>());
}

SimStateDir::~SimStateDir() {
    if (lockFd_ >= 0) ::close(lockFd_);
}

bool SimStateDir::holdsCards(const std::string& dir) { return ::access((dir + "/" + kConfigFile).c_str(), F_OK) == 0; }

std::string SimStateDir::cardPath(unsigned index) const { return dir_ + "/card" + std::to_string(index) + ".state"; }

Result<std::unique_ptr<SimStateDir>> SimStateDir::create(const std::string& dir, const SimConfig& config) {
    if (auto v = config.validate(); !v) return std::move(v).error();
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Error::fromErrno(errno, "create " + dir);
    auto lockFd = openLock(dir);
    if (!lockFd) return std::move(lockFd).error();
    std::unique_ptr<SimStateDir> s(new SimStateDir(dir, config));
    s->lockFd_ = *lockFd;
    DirLock lock(s->lockFd_);
    if (holdsCards(dir))
        return makeError(Errc::InvalidState, dir + " already holds simulated cards; use it as it is or choose another directory");
    for (unsigned i = 0; i < config.cards; ++i)
        if (auto r = s->save(i, SimCard::fresh(config, i)); !r) return std::move(r).error();
    // sim.conf last: a directory without it is an unfinished creation and can be created again.
    if (auto r = replaceFile(dir, dir + "/" + kConfigFile, config.serialize()); !r) return std::move(r).error();
    return s;
}

Result<std::unique_ptr<SimStateDir>> SimStateDir::open(const std::string& dir) {
    const std::string confPath = dir + "/" + kConfigFile;
    if (!holdsCards(dir))
        return makeError(Errc::NotFound, dir + " holds no simulated cards (no " + kConfigFile + "); create them with 'aismi-sim --dir " +
                                             dir + " create'");
    auto content = readWhole(confPath);
    if (!content) return std::move(content).error();
    auto config = SimConfig::parse(*content, confPath);
    if (!config) return std::move(config).error();
    auto lockFd = openLock(dir);
    if (!lockFd) return std::move(lockFd).error();
    std::unique_ptr<SimStateDir> s(new SimStateDir(dir, *config));
    s->lockFd_ = *lockFd;
    return s;
}

Result<std::shared_ptr<const SimCard>> SimStateDir::load(unsigned index, bool revalidate) {
    if (index >= cache_.size())
        return makeError(Errc::NotFound, "there is no simulated card " + std::to_string(index) + " (" +
                                             std::to_string(cache_.size()) + " cards in " + dir_ + ")");
    Cached& c = *cache_[index];
    const auto now = std::chrono::steady_clock::now();
    if (c.valid && !revalidate && now - c.checkedAt < kRevalidateAfter) return c.card;
    const std::string path = cardPath(index);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Error::fromErrno(errno, "stat " + path);
    const int64_t mtime = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    const int64_t ctime = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    if (c.valid && c.ino == st.st_ino && c.mtimeNs == mtime && c.ctimeNs == ctime && c.size == st.st_size) {
        c.checkedAt = now;
        return c.card;
    }
    auto content = readWhole(path);
    if (!content) return std::move(content).error();
    auto card = SimCard::parse(*content, config_, path);
    if (!card) return std::move(card).error();
    card->index = index;
    c.checkedAt = now;
    c.valid = true;
    c.ino = st.st_ino;
    c.mtimeNs = mtime;
    c.ctimeNs = ctime;
    c.size = st.st_size;
    c.card = std::make_shared<const SimCard>(std::move(*card));
    return c.card;
}

Result<std::shared_ptr<const SimCard>> SimStateDir::card(unsigned index) {
    if (index >= cache_.size()) return load(index);  // the error
    std::lock_guard guard(cache_[index]->mutex);
    return load(index);
}

Result<void> SimStateDir::save(unsigned index, const SimCard& card) {
    const std::string path = cardPath(index);
    Cached& c = *cache_[index];
    c.valid = false;
    if (auto r = replaceFile(dir_, path, card.serialize()); !r) return std::move(r).error();
    // What was just written is what the file holds (the directory lock is held): kept, with
    // the file's identity, so the read-back of a change does not parse it again.
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    c.ino = st.st_ino;
    c.mtimeNs = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    c.ctimeNs = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    c.size = st.st_size;
    c.card = std::make_shared<const SimCard>(card);
    c.checkedAt = {};  // the next read checks the file's identity (a stat, not a parse)
    c.valid = true;
    return {};
}

Result<void> SimStateDir::mutate(unsigned index, const std::function<Result<void>(SimCard&)>& change) {
    if (index >= cache_.size()) return load(index).error();
    std::lock_guard guard(cache_[index]->mutex);
    DirLock lock(lockFd_);
    // Under the lock, from the file as it is now: the cache may be up to kRevalidateAfter old,
    // and a change another process (aismi-sim inject) made meanwhile must not be written over.
    auto current = load(index, true);
    if (!current) return std::move(current).error();
    SimCard copy = **current;
    if (auto r = change(copy); !r) return r;
    return save(index, copy);
}

Result<void> SimStateDir::setTimeFactor(double factor) {
    SimConfig updated = config_;
    updated.timeFactor = factor;
    if (auto v = updated.validate(); !v) return std::move(v).error();
    DirLock lock(lockFd_);
    if (auto r = replaceFile(dir_, dir_ + "/" + kConfigFile, updated.serialize()); !r) return std::move(r).error();
    config_ = updated;
    return {};
}

}  // namespace aismi::sim
