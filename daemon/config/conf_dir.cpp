#include "conf_dir.hpp"

#include "limits.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace aismi {
namespace {

std::string kindOf(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

}  // namespace

Result<std::string> readConfigFile(const std::string& path, size_t maxBytes) {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer; the type is then
    // checked on what was opened, not on a name that may change in between.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        const int err = errno;
        return makeError(err == ENOENT ? Errc::NotFound : Errc::ConfigInvalid, path + " cannot be read: " + std::strerror(err));
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) return makeError(Errc::ConfigInvalid, path + " cannot be read: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return makeError(Errc::ConfigInvalid, path + " is " + kindOf(st.st_mode) + ", not a regular file");
    if (static_cast<uint64_t>(st.st_size) > maxBytes)
        return makeError(Errc::ConfigInvalid, path + " is larger than " + std::to_string(maxBytes / 1024) + " KiB (" + std::to_string(st.st_size) + " bytes)");
    std::string content;
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return makeError(Errc::ConfigInvalid, path + " cannot be read: " + std::strerror(errno));
        if (n == 0) break;
        content.append(buffer, static_cast<size_t>(n));
        // A file that grows while it is read is still held to the limit.
        if (content.size() > maxBytes) return makeError(Errc::ConfigInvalid, path + " is larger than " + std::to_string(maxBytes / 1024) + " KiB");
    }
    return content;
}

Result<std::vector<std::pair<std::string, std::string>>> readConfDir(const std::string& dir, const std::string& extension, size_t maxBytes) {
    if (maxBytes == 0) maxBytes = limits::kMaxConfigFileBytes;
    std::vector<std::pair<std::string, std::string>> out;
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) return out;
    if (!std::filesystem::is_directory(dir, ec)) return makeError(Errc::ConfigInvalid, dir + " is not a directory");
    std::vector<std::string> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == extension) files.push_back(it->path().string());
    if (ec) return makeError(Errc::ConfigInvalid, "cannot list " + dir + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        auto content = readConfigFile(file, maxBytes);
        if (!content) return makeError(Errc::ConfigInvalid, content.error().message);
        out.emplace_back(file, std::move(*content));
    }
    return out;
}

}  // namespace aismi
