#include "sdbus_authority_client.hpp"

#include "bus_pump.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi {
namespace {

constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitInterface = "org.freedesktop.PolicyKit1.Authority";

bool polkitAbsent(const sdbus::Error& e) {
    return e.getName() == "org.freedesktop.DBus.Error.ServiceUnknown" || e.getName() == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

}  // namespace

SdbusAuthorityClient::SdbusAuthorityClient(sdbus::IConnection& connection, BusPump& pump)
    : polkit_(sdbus::createProxy(connection, kPolkitName, kPolkitPath)),
      driver_(sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus")),
      pump_(pump) {}

SdbusAuthorityClient::~SdbusAuthorityClient() = default;

void SdbusAuthorityClient::checkAuthorization(const std::string& sender, const std::string& action,
                                              std::function<void(Answer, std::string)> reply) {
    // Subject "system-bus-name": polkit resolves the name to the process and its session.
    sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>> subject{
        std::string("system-bus-name"), std::map<std::string, sdbus::Variant>{{"name", sdbus::Variant(sender)}}};
    try {
        polkit_->callMethodAsync("CheckAuthorization")
            .onInterface(kPolkitInterface)
            .withArguments(subject, action, std::map<std::string, std::string>{}, uint32_t{0}, std::string())
            .uponReplyInvoke([reply](const sdbus::Error* e, sdbus::Struct<bool, bool, std::map<std::string, std::string>> result) {
                if (e) return reply(polkitAbsent(*e) ? Answer::NoPolkit : Answer::Failed, e->getMessage());
                reply(std::get<0>(result) ? Answer::Allowed : Answer::Denied, "");
            });
    } catch (const sdbus::Error& e) {
        reply(Answer::Failed, e.getMessage());
    }
    pump_.kick();
}

void SdbusAuthorityClient::unixUser(const std::string& sender, std::function<void(Result<uid_t>)> reply) {
    try {
        driver_->callMethodAsync("GetConnectionUnixUser")
            .onInterface("org.freedesktop.DBus")
            .withArguments(sender)
            .uponReplyInvoke([reply](const sdbus::Error* e, uint32_t uid) {
                if (e) return reply(makeError(Errc::PermissionDenied, e->getMessage()));
                reply(static_cast<uid_t>(uid));
            });
    } catch (const sdbus::Error& e) {
        reply(makeError(Errc::PermissionDenied, e.getMessage()));
    }
    pump_.kick();
}

}  // namespace aismi
