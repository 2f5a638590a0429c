#include "authorizer.hpp"

#include <sdbus-c++/sdbus-c++.h>

namespace aismi {
namespace {

constexpr const char* kPolkitName = "org.freedesktop.PolicyKit1";
constexpr const char* kPolkitPath = "/org/freedesktop/PolicyKit1/Authority";
constexpr const char* kPolkitInterface = "org.freedesktop.PolicyKit1.Authority";

bool polkitAbsent(const sdbus::Error& e) {
    return e.getName() == "org.freedesktop.DBus.Error.ServiceUnknown" || e.getName() == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

Error denied(const std::string& action, const std::string& why) {
    return makeError(Errc::PermissionDenied, "not authorized to " + action + ": " + why);
}

}  // namespace

Authorizer::Authorizer(sdbus::IConnection& connection)
    : polkit_(sdbus::createProxy(connection, kPolkitName, kPolkitPath)) {}

Authorizer::~Authorizer() = default;

Result<void> Authorizer::check(const sdbus::Message& call, const std::string& action) {
    const std::string sender = call.getSender();
    try {
        // Subject "system-bus-name": polkit resolves the name to the process and its session.
        sdbus::Struct<std::string, std::map<std::string, sdbus::Variant>> subject{
            std::string("system-bus-name"), std::map<std::string, sdbus::Variant>{{"name", sdbus::Variant(sender)}}};
        sdbus::Struct<bool, bool, std::map<std::string, std::string>> result;
        polkit_->callMethod("CheckAuthorization")
            .onInterface(kPolkitInterface)
            .withArguments(subject, action, std::map<std::string, std::string>{}, uint32_t{0}, std::string())
            .storeResultsTo(result);
        if (std::get<0>(result)) return {};
        return denied(action, "polkit refused " + sender);
    } catch (const sdbus::Error& e) {
        if (!polkitAbsent(e)) return denied(action, "polkit check failed: " + e.getMessage());
    }
    // No polkit on this bus: fall back to root only.
    uid_t uid = 0;
    try {
        uid = call.getCredsUid();
    } catch (const sdbus::Error& e) {
        return denied(action, "cannot learn the caller's uid: " + e.getMessage());
    }
    if (uid == 0) return {};
    return denied(action, "uid " + std::to_string(uid) + " is not root and polkit is not running");
}

}  // namespace aismi
