// aismid's HTTP server on a real loopback socket, fed whatever a client may send: every input
// gets an HTTP answer or a closed connection (never a crash, a hang or a session left open),
// and the answer's status is one the server gives.
#include "http_server.hpp"

#include <boost/asio/io_context.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

boost::asio::io_context io;

aismi::HttpServer& server() {
    static std::unique_ptr<aismi::HttpServer> s = [] {
        aismi::HttpServer::Limits limits;
        limits.requestTimeout = std::chrono::milliseconds(300);
        limits.writeTimeout = std::chrono::milliseconds(300);
        auto listening = aismi::HttpServer::listen(io, "127.0.0.1", 0, limits, [](const aismi::HttpRequest& r) {
            if (r.target == "/metrics") return aismi::HttpReply{200, "text/plain", std::string(1000, 'm')};
            return aismi::HttpReply{404, "text/plain", "not found\n"};
        });
        if (!listening) std::abort();
        return std::move(*listening);
    }();
    return *s;
}

int connectTo(const std::string& address) {
    const size_t colon = address.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1)));
    ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);  // in progress; completes as the loop accepts
    return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto& s = server();
    const int fd = connectTo(s.address());
    size_t sent = 0;
    bool halfClosed = false;
    std::string answer;
    // Up to ~2 s of the server's loop: longer than its request and write timeouts.
    for (int round = 0; round < 2000; ++round) {
        io.restart();
        io.run_for(std::chrono::milliseconds(1));
        if (sent < size) {
            const ssize_t n = ::send(fd, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) sent += static_cast<size_t>(n);
            else if (errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN) sent = size;  // the server closed: fine
        } else if (!halfClosed) {
            ::shutdown(fd, SHUT_WR);
            halfClosed = true;
        }
        char buf[4096];
        const ssize_t got = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got > 0) answer.append(buf, static_cast<size_t>(got));
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)) break;  // closed
        if (round == 1999) __builtin_trap();  // neither answered nor closed in time
    }
    ::close(fd);
    if (!answer.empty()) {
        if (answer.compare(0, 9, "HTTP/1.1 ") != 0 && answer.compare(0, 9, "HTTP/1.0 ") != 0) __builtin_trap();
        const int status = std::atoi(answer.c_str() + 9);
        if (status != 200 && status != 400 && status != 404 && status != 405 && status != 431 && status != 500) __builtin_trap();
    }
    // Every session ends once its client has gone.
    for (int round = 0; round < 1000 && s.stats().open > 0; ++round) {
        io.restart();
        io.run_for(std::chrono::milliseconds(1));
    }
    if (s.stats().open != 0) __builtin_trap();
    return 0;
}
