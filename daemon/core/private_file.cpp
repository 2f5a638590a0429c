#include "private_file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string_view>
#include <unistd.h>

namespace aismi {
namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

Result<void> writeAll(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Error::fromErrno(errno, "write " + path);
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

}  // namespace

Result<void> replaceFilePrivately(const std::string& path, const std::string& content) {
    const std::string tmp = path + ".tmp";
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    Fd out{::open(tmp.c_str(), flags, 0600)};
    if (out.fd < 0 && errno == EEXIST) {
        // Left by a crash between create and rename (or planted): removed, never written through.
        if (::unlink(tmp.c_str()) != 0) return Error::fromErrno(errno, "remove " + tmp);
        out.fd = ::open(tmp.c_str(), flags, 0600);
    }
    if (out.fd < 0) return Error::fromErrno(errno, "create " + tmp);
    auto written = writeAll(out.fd, content, tmp);
    if (written && ::fsync(out.fd) != 0) written = Error::fromErrno(errno, "fsync " + tmp);
    if (!written) {
        ::unlink(tmp.c_str());
        return written;
    }
    ::close(out.fd);
    out.fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return Error::fromErrno(err, "rename " + tmp + " to " + path);
    }
    const auto slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (d.fd < 0 || ::fsync(d.fd) != 0) return Error::fromErrno(errno, "fsync " + dir);
    return {};
}

}  // namespace aismi
