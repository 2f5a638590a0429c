// A small, bounded HTTP/1.1 server on the daemon's own io_context (Boost.Beast; no thread of
// its own). It answers GET and HEAD through one handler and defends the loop: at most
// `maxConnections` at once (the oldest connection still waiting for its request makes room
// for a new one), a request must arrive whole within `requestTimeout` and fit in
// `maxRequestBytes`, a reply must be taken within `writeTimeout`. Beast stays in the .cpp.
#pragma once

#include <aismi/error.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace aismi {

struct HttpRequest {
    std::string method;  // "GET" or "HEAD" (others are answered 405 before the handler)
    std::string target;  // "/metrics?x=y"
    std::string accept;  // the Accept header, "" when absent
};

struct HttpReply {
    unsigned status = 200;
    std::string contentType = "text/plain; charset=utf-8";
    std::string body;
};

/// What the server did, for aismid's own metrics.
struct HttpStats {
    std::map<unsigned, uint64_t> replies;  // by status code
    uint64_t accepted = 0;
    uint64_t evicted = 0;    // closed to stay within the limit: the oldest still waiting for a request, or a new one when all are busy
    uint64_t timedOut = 0;   // request not complete in time, or reply not taken in time
    uint64_t malformed = 0;  // not HTTP, or over the size limit
    unsigned open = 0;
};

class HttpServer {
public:
    struct Limits {
        unsigned maxConnections = 32;
        size_t maxRequestBytes = 8192;  // request line and headers
        std::chrono::milliseconds requestTimeout{5000};
        std::chrono::milliseconds writeTimeout{10000};
    };
    using Handler = std::function<HttpReply(const HttpRequest&)>;

    /// Listens on `host` (an IPv4 or IPv6 address) and `port` (0: any free port).
    static Result<std::unique_ptr<HttpServer>> listen(boost::asio::io_context& io, const std::string& host, uint16_t port, Limits limits,
                                                      Handler handler);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Where it listens: "127.0.0.1:9400", "[::1]:9400".
    std::string address() const;
    const HttpStats& stats() const;

    struct State;

private:
    explicit HttpServer(std::shared_ptr<State> state);
    std::shared_ptr<State> state_;
};

}  // namespace aismi
