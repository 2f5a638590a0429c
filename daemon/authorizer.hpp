// Who may change things. Reads are open to everyone; every change is checked per call with
// polkit (CheckAuthorization with the caller's bus name and one action per kind of change).
// Without polkit on the bus, only uid 0 may change anything.
#pragma once

#include <aismi/error.hpp>

#include <memory>
#include <string>

namespace sdbus {
class IConnection;
class IProxy;
class Message;
}  // namespace sdbus

namespace aismi {

// Actions shipped in systemd/org.aismi.policy.
inline constexpr const char* kActionManageVfs = "org.aismi.manage-vfs";

class Authorizer {
public:
    explicit Authorizer(sdbus::IConnection& connection);
    ~Authorizer();

    /// PermissionDenied with a sentence naming the action unless `call`'s sender may do it.
    Result<void> check(const sdbus::Message& call, const std::string& action);

private:
    std::unique_ptr<sdbus::IProxy> polkit_;
};

}  // namespace aismi
