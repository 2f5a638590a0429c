#include "service_notifier.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace aismi {

namespace {
constexpr std::chrono::milliseconds kRetryEvery{50};
}

ServiceNotifier::ServiceNotifier(boost::asio::io_context& io) : retry_(io) {
    const char* where = std::getenv("NOTIFY_SOCKET");
    if (!where || (where[0] != '/' && where[0] != '@') || std::strlen(where) >= sizeof(sockaddr_un::sun_path)) return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, where, std::strlen(where));
    if (where[0] == '@') addr.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + std::strlen(where));
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), length) != 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

ServiceNotifier::~ServiceNotifier() {
    if (fd_ >= 0) ::close(fd_);
}

void ServiceNotifier::send(std::string state) {
    if (fd_ < 0) return;
    if (state == "WATCHDOG=1" && !queue_.empty() && queue_.back() == state) return;
    queue_.push_back(std::move(state));
    drain();
}

bool ServiceNotifier::sendFront() {
    const std::string& next = queue_.front();
    if (::send(fd_, next.data(), next.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
        queue_.pop_front();
        return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    if (errno != EINTR) queue_.pop_front();  // nobody listens any more (systemd restarting): as sd_notify, drop it
    return true;
}

void ServiceNotifier::drain() {
    while (!queue_.empty()) {
        if (sendFront()) continue;
        if (!retrying_) {
            retrying_ = true;
            retry_.expires_after(kRetryEvery);
            retry_.async_wait([this](const boost::system::error_code& ec) {
                retrying_ = false;
                if (!ec) drain();
            });
        }
        return;
    }
}

void ServiceNotifier::flush(std::chrono::milliseconds limit) {
    retry_.cancel();
    retrying_ = false;
    for (auto end = std::chrono::steady_clock::now() + limit; !queue_.empty() && std::chrono::steady_clock::now() < end;)
        if (!sendFront()) std::this_thread::sleep_for(kRetryEvery);
    queue_.clear();
}

}  // namespace aismi
