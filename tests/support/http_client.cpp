#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>

namespace aismi::test {

int freeLoopbackPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);  // port 0: the kernel picks one
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

int connectTcp(const std::string& hostPort) {
    const size_t colon = hostPort.rfind(':');
    if (colon == std::string::npos) return -1;
    std::string host = hostPort.substr(0, colon);
    const int port = std::atoi(hostPort.c_str() + colon + 1);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    sockaddr_storage addr{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port));
        len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port));
        len = sizeof *v6;
    } else {
        return -1;
    }
    const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

HttpResponse parseResponse(const std::string& raw) {
    HttpResponse r;
    const size_t end = raw.find("\r\n\r\n");
    if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || end == std::string::npos) {
        r.error = "not an HTTP response: '" + raw.substr(0, 80) + "'";
        return r;
    }
    r.status = std::atoi(raw.c_str() + 9);
    size_t line = raw.find("\r\n") + 2;
    while (line < end) {
        const size_t next = raw.find("\r\n", line);
        const std::string header = raw.substr(line, next - line);
        const size_t colon = header.find(':');
        if (colon != std::string::npos) {
            std::string name = header.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
            r.headers[name] = header.substr(header.find_first_not_of(' ', colon + 1));
        }
        line = next + 2;
    }
    r.body = raw.substr(end + 4);
    return r;
}

HttpResponse httpExchange(const std::string& hostPort, const std::string& request, int timeoutMs) {
    HttpResponse failed;
    const int fd = connectTcp(hostPort);
    if (fd < 0) {
        failed.error = "cannot connect to " + hostPort + ": " + std::strerror(errno);
        return failed;
    }
    size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may answer (and close) before reading it all
        sent += static_cast<size_t>(n);
    }
    std::string raw;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    char buf[65536];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        pollfd p{fd, POLLIN, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
            failed.error = "no complete answer from " + hostPort + " within " + std::to_string(timeoutMs) + " ms (" + std::to_string(raw.size()) + " bytes)";
            ::close(fd);
            return raw.empty() ? failed : parseResponse(raw);
        }
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        raw.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (raw.empty()) {
        failed.error = hostPort + " closed the connection without an answer";
        return failed;
    }
    return parseResponse(raw);
}

HttpResponse httpGet(const std::string& hostPort, const std::string& target, const std::vector<std::string>& headers, int timeoutMs) {
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + hostPort + "\r\nConnection: close\r\n";
    for (const auto& h : headers) request += h + "\r\n";
    request += "\r\n";
    return httpExchange(hostPort, request, timeoutMs);
}

}  // namespace aismi::test
