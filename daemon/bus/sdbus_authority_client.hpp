// AuthorityClient over sd-bus: asynchronous calls to polkit and to the bus driver on the
// daemon's own connection; replies are dispatched by the BusPump on the loop thread.
#pragma once

#include "authorizer.hpp"

#include <memory>

namespace sdbus {
class IConnection;
class IProxy;
}  // namespace sdbus

namespace aismi {

class BusPump;

class SdbusAuthorityClient final : public AuthorityClient {
public:
    SdbusAuthorityClient(sdbus::IConnection& connection, BusPump& pump);
    ~SdbusAuthorityClient() override;
    void checkAuthorization(const std::string& sender, const std::string& action, std::function<void(Answer, std::string)> reply) override;
    void unixUser(const std::string& sender, std::function<void(Result<uid_t>)> reply) override;

private:
    std::unique_ptr<sdbus::IProxy> polkit_;
    std::unique_ptr<sdbus::IProxy> driver_;
    BusPump& pump_;
};

}  // namespace aismi
