#include "authorizer.hpp"

#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace aismi {
namespace {

Error denied(const std::string& action, const std::string& why) {
    return makeError(Errc::PermissionDenied, "not authorized to " + action + ": " + why);
}

// Calls the wrapped function once, whichever of the answer and the timeout comes first.
struct Once {
    std::function<void(Result<void>)> then;
    std::unique_ptr<boost::asio::steady_timer> timer;
    bool done = false;
    void operator()(Result<void> r) {
        if (done) return;
        done = true;
        timer->cancel();
        then(std::move(r));
    }
};

}  // namespace

Authorizer::Authorizer(boost::asio::io_context& io, AuthorityClient& client, std::chrono::milliseconds timeout)
    : io_(io), client_(client), timeout_(timeout) {}

void Authorizer::authorize(const std::string& sender, const std::string& action, std::function<void(Result<void>)> then) {
    auto once = std::make_shared<Once>();
    once->then = std::move(then);
    once->timer = std::make_unique<boost::asio::steady_timer>(io_, timeout_);
    once->timer->async_wait([once, action, ms = timeout_.count()](const boost::system::error_code& ec) {
        if (!ec) (*once)(denied(action, "polkit did not answer within " + std::to_string(ms) + " ms"));
    });
    client_.checkAuthorization(sender, action, [this, once, sender, action](AuthorityClient::Answer a, std::string detail) {
        if (once->done) return;
        switch (a) {
        case AuthorityClient::Answer::Allowed: return (*once)({});
        case AuthorityClient::Answer::Denied: return (*once)(denied(action, "polkit refused " + sender));
        case AuthorityClient::Answer::Failed: return (*once)(denied(action, "polkit check failed: " + detail));
        case AuthorityClient::Answer::NoPolkit:
            return fallBackToRoot(sender, action, [once](Result<void> r) { (*once)(std::move(r)); });
        }
    });
}

void Authorizer::fallBackToRoot(const std::string& sender, const std::string& action, std::function<void(Result<void>)> then) {
    client_.unixUser(sender, [action, then = std::move(then)](Result<uid_t> uid) {
        if (!uid) return then(denied(action, "cannot learn the caller's uid: " + uid.error().message));
        if (*uid == 0) return then({});
        then(denied(action, "uid " + std::to_string(*uid) + " is not root and polkit is not running"));
    });
}

}  // namespace aismi
