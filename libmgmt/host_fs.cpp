#include <aismi/fs.hpp>

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace aismi {
namespace {

// sysfs attributes are at most a page, `config` 4 KiB; anything past this is not an attribute.
constexpr size_t kMaxRead = 1 << 20;

bool isSafeRelative(std::string_view path) {
    if (path.empty() || path.front() == '/') return false;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        if (path.substr(start, end - start) == "..") return false;
        start = end + 1;
    }
    return true;
}

class HostFs final : public Fs {
public:
    explicit HostFs(std::string root) : root_(std::move(root)) {
        while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
    }

    Result<std::string> read(std::string_view path) const override {
        auto full = resolve(path);
        if (!full) return std::move(full).error();
        const int fd = ::open(full->c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return Error::fromErrno(errno, "open " + *full);
        std::string data;
        char buf[4096];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR) continue;
                const int err = errno;
                ::close(fd);
                return Error::fromErrno(err, "read " + *full);
            }
            if (n == 0) break;
            data.append(buf, static_cast<size_t>(n));
            if (data.size() > kMaxRead) {
                ::close(fd);
                return makeError(Errc::MalformedData, *full + " is larger than any sysfs attribute");
            }
        }
        ::close(fd);
        return data;
    }

    Result<void> write(std::string_view path, std::string_view data) override {
        auto full = resolve(path);
        if (!full) return std::move(full).error();
        const int fd = ::open(full->c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);  // as a shell `echo >` does
        if (fd < 0) return Error::fromErrno(errno, "open " + *full);
        ssize_t n;
        do n = ::write(fd, data.data(), data.size());
        while (n < 0 && errno == EINTR);
        const int err = errno;
        ::close(fd);
        if (n < 0) return Error::fromErrno(err, "write " + *full);
        if (static_cast<size_t>(n) != data.size())
            return makeError(Errc::IoError, "write " + *full + ": short write");
        return {};
    }

    Result<std::vector<std::string>> list(std::string_view dir) const override {
        auto full = resolve(dir);
        if (!full) return std::move(full).error();
        DIR* d = ::opendir(full->c_str());
        if (!d) return Error::fromErrno(errno, "list " + *full);
        std::vector<std::string> names;
        while (const dirent* e = ::readdir(d)) {
            std::string_view name = e->d_name;
            if (name != "." && name != "..") names.emplace_back(name);
        }
        ::closedir(d);
        std::sort(names.begin(), names.end());
        return names;
    }

    Result<std::string> readLink(std::string_view path) const override {
        auto full = resolve(path);
        if (!full) return std::move(full).error();
        char buf[4096];
        const ssize_t n = ::readlink(full->c_str(), buf, sizeof buf);
        if (n < 0) return Error::fromErrno(errno, "readlink " + *full);
        return std::string(buf, static_cast<size_t>(n));
    }

    bool exists(std::string_view path) const override {
        auto full = resolve(path);
        return full && ::access(full->c_str(), F_OK) == 0;
    }

    std::string describe() const override { return root_; }

private:
    Result<std::string> resolve(std::string_view path) const {
        if (!isSafeRelative(path))
            return makeError(Errc::InvalidArgument, "'" + std::string(path) + "' is not a relative path below " + root_);
        return root_ + "/" + std::string(path);
    }

    std::string root_;
};

}  // namespace

std::unique_ptr<Fs> makeHostFs(std::string root) { return std::make_unique<HostFs>(std::move(root)); }

}  // namespace aismi
