#include "state_dir_lock.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace aismi {

Result<std::unique_ptr<StateDirLock>> StateDirLock::acquire(const std::string& stateDir) {
    if (::mkdir(stateDir.c_str(), 0700) != 0 && errno != EEXIST) return Error::fromErrno(errno, "create state directory " + stateDir);
    const std::string path = stateDir + "/aismid.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return Error::fromErrno(errno, "open " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd);
        if (err == EWOULDBLOCK)
            return makeError(Errc::Busy, "state directory " + stateDir + " is in use by another aismid (" + path + " is locked)");
        return Error::fromErrno(err, "lock " + path);
    }
    return std::unique_ptr<StateDirLock>(new StateDirLock(fd));
}

StateDirLock::~StateDirLock() { ::close(fd_); }

}  // namespace aismi
