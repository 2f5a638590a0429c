// Who may change things. Reads are open to everyone; every change is checked per call with
// polkit (CheckAuthorization for the caller's bus name and the change's action), without
// ever blocking the loop: the question is asked asynchronously, and a polkit that does not
// answer within the timeout means "no". Without polkit on the bus, only uid 0 may change
// anything; the uid is the one the bus itself recorded for the sender (race-free, unlike
// /proc/<pid>).
#pragma once

#include <aismi/error.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <sys/types.h>

namespace boost::asio {
class io_context;
}

namespace aismi {

/// The questions the authorizer asks, behind a seam so that it is testable without a bus.
class AuthorityClient {
public:
    virtual ~AuthorityClient() = default;
    enum class Answer { Allowed, Denied, NoPolkit, Failed };
    /// polkit's CheckAuthorization for a system-bus-name subject (no interaction).
    virtual void checkAuthorization(const std::string& sender, const std::string& action,
                                    std::function<void(Answer, std::string detail)> reply) = 0;
    /// The bus driver's GetConnectionUnixUser for `sender`.
    virtual void unixUser(const std::string& sender, std::function<void(Result<uid_t>)> reply) = 0;
};

class Authorizer {
public:
    Authorizer(boost::asio::io_context& io, AuthorityClient& client, std::chrono::milliseconds timeout);

    /// Calls `then` exactly once, on the loop thread: success, or PermissionDenied with a
    /// sentence naming the action and why.
    void authorize(const std::string& sender, const std::string& action, std::function<void(Result<void>)> then);

private:
    void fallBackToRoot(const std::string& sender, const std::string& action, std::function<void(Result<void>)> then);

    boost::asio::io_context& io_;
    AuthorityClient& client_;
    std::chrono::milliseconds timeout_;
};

}  // namespace aismi
