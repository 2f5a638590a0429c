#include "http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <list>
#include <optional>

namespace aismi {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::chrono::milliseconds kAcceptBackoff{100};  // after a failed accept (out of descriptors, say)

std::string endpointText(const tcp::endpoint& ep) {
    const std::string host = ep.address().to_string();
    return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

}  // namespace

class Session;

struct HttpServer::State {
    State(asio::io_context& io, Limits l, Handler h) : acceptor(io), backoff(io), limits(l), handler(std::move(h)) {}
    void accept(const std::shared_ptr<State>& self);
    /// Whether a new connection may be served: closes the oldest one still waiting for its
    /// request when the limit is reached.
    bool makeRoom();

    tcp::acceptor acceptor;
    asio::steady_timer backoff;
    Limits limits;
    Handler handler;
    HttpStats stats;
    std::list<Session*> sessions;  // open, oldest first
    bool closed = false;
};

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, std::shared_ptr<HttpServer::State> state)
        : stream_(std::move(socket)), state_(std::move(state)), buffer_(state_->limits.maxRequestBytes) {
        state_->sessions.push_back(this);
        self_ = std::prev(state_->sessions.end());
        state_->stats.open = static_cast<unsigned>(state_->sessions.size());
    }
    ~Session() {
        state_->sessions.erase(self_);
        state_->stats.open = static_cast<unsigned>(state_->sessions.size());
    }

    void readRequest() {
        parser_.emplace();
        parser_->header_limit(static_cast<uint32_t>(state_->limits.maxRequestBytes));
        waiting_ = true;
        // One deadline for the whole request: a client sending a byte at a time runs out of it.
        stream_.expires_after(state_->limits.requestTimeout);
        http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
    }

    bool waiting() const { return waiting_ && !closing_; }
    bool closing() const { return closing_; }
    void close() {
        closing_ = true;
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

private:
    void onRead(beast::error_code ec) {
        waiting_ = false;
        if (closing_ || state_->closed) return;
        if (ec == beast::error::timeout) {
            ++state_->stats.timedOut;
            return close();
        }
        if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
            return close();  // the client went away between requests
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
            ++state_->stats.malformed;
            return reply({431, "text/plain; charset=utf-8", "request header fields too large\n"}, 11, false, false);
        }
        if (ec) {
            ++state_->stats.malformed;
            return reply({400, "text/plain; charset=utf-8", "bad request: " + ec.message() + "\n"}, 11, false, false);
        }
        const auto& req = parser_->get();
        const bool head = req.method() == http::verb::head;
        if (req.method() != http::verb::get && !head)
            return reply({405, "text/plain; charset=utf-8", "only GET and HEAD are served\n"}, req.version(), req.keep_alive(), false);
        HttpRequest request{std::string(req.method_string()), std::string(req.target()), std::string(req[http::field::accept])};
        HttpReply answer;
        try {
            answer = state_->handler(request);
        } catch (const std::exception& e) {
            answer = {500, "text/plain; charset=utf-8", std::string("internal error: ") + e.what() + "\n"};
        }
        reply(std::move(answer), req.version(), req.keep_alive(), head);
    }

    void reply(HttpReply answer, unsigned version, bool keepAlive, bool head) {
        auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(answer.status), version);
        res->set(http::field::server, "aismid");
        res->set(http::field::content_type, answer.contentType);
        if (answer.status == 405) res->set(http::field::allow, "GET, HEAD");
        res->keep_alive(keepAlive);
        const size_t length = answer.body.size();
        if (!head) res->body() = std::move(answer.body);
        res->content_length(length);
        ++state_->stats.replies[answer.status];
        stream_.expires_after(state_->limits.writeTimeout);
        http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) { self->onWrite(ec, res->keep_alive()); });
    }

    void onWrite(beast::error_code ec, bool keepAlive) {
        if (closing_ || state_->closed) return;
        if (ec == beast::error::timeout) ++state_->stats.timedOut;
        if (ec || !keepAlive) return close();
        readRequest();
    }

    beast::tcp_stream stream_;
    std::shared_ptr<HttpServer::State> state_;
    beast::flat_buffer buffer_;  // bounded: a request larger than the limit fails to read
    std::optional<http::request_parser<http::empty_body>> parser_;  // a body is refused
    std::list<Session*>::iterator self_;
    bool waiting_ = false;
    bool closing_ = false;
};

bool HttpServer::State::makeRoom() {
    size_t active = 0;
    Session* oldestWaiting = nullptr;
    for (Session* s : sessions) {
        if (s->closing()) continue;
        ++active;
        if (!oldestWaiting && s->waiting()) oldestWaiting = s;
    }
    if (active < limits.maxConnections) return true;
    if (!oldestWaiting) return false;
    ++stats.evicted;
    oldestWaiting->close();
    return true;
}

void HttpServer::State::accept(const std::shared_ptr<State>& self) {
    acceptor.async_accept([self](beast::error_code ec, tcp::socket socket) {
        if (self->closed || ec == asio::error::operation_aborted) return;
        if (ec) {
            // Out of descriptors, say: try again a little later rather than spin.
            self->backoff.expires_after(kAcceptBackoff);
            self->backoff.async_wait([self](beast::error_code e) {
                if (!e && !self->closed) self->accept(self);
            });
            return;
        }
        ++self->stats.accepted;
        if (self->makeRoom()) {
            std::make_shared<Session>(std::move(socket), self)->readRequest();
        } else {
            ++self->stats.evicted;  // every connection is busy replying: this one waits for none
            beast::error_code ignored;
            socket.close(ignored);
        }
        self->accept(self);
    });
}

Result<std::unique_ptr<HttpServer>> HttpServer::listen(asio::io_context& io, const std::string& host, uint16_t port, Limits limits, Handler handler) {
    beast::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return makeError(Errc::InvalidArgument, "'" + host + "' is not an IP address");
    const tcp::endpoint endpoint(address, port);
    auto state = std::make_shared<State>(io, limits, std::move(handler));
    auto& a = state->acceptor;
    a.open(endpoint.protocol(), ec);
    if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && address.is_v6()) a.set_option(asio::ip::v6_only(true), ec);
    if (!ec) a.bind(endpoint, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return makeError(ec == asio::error::address_in_use ? Errc::Busy : Errc::IoError, "cannot listen on " + endpointText(endpoint) + ": " + ec.message());
    state->accept(state);
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

HttpServer::HttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() {
    state_->closed = true;
    beast::error_code ignored;
    state_->acceptor.close(ignored);
    state_->backoff.cancel();
    for (Session* s : state_->sessions)
        if (!s->closing()) s->close();
}

std::string HttpServer::address() const {
    beast::error_code ec;
    const auto ep = state_->acceptor.local_endpoint(ec);
    return ec ? std::string() : endpointText(ep);
}

const HttpStats& HttpServer::stats() const { return state_->stats; }

}  // namespace aismi
