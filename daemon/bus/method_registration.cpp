#include "method_registration.hpp"

#include <map>

namespace aismi::bus {

void guarded(sdbus::MethodCall& call, const std::function<void()>& body) {
    try {
        body();
    } catch (const sdbus::Error&) {
        throw;  // sdbus-c++ turns it into the error reply
    } catch (const std::exception& e) {
        throw toBusError(makeError(Errc::Internal, call.getMemberName() + ": " + e.what()));
    }
}

bool forceOption(sdbus::MethodCall& call, const std::string& method) {
    std::map<std::string, sdbus::Variant> options;
    readArguments(call, {"options"}, options);
    bool force = false;
    for (const auto& [name, value] : options) {
        if (name != "force" || value.peekValueType() != "b")
            throw toBusError(makeError(Errc::InvalidArgument, method + ": unknown option " + quoteInput(name) + " (there is: force, a boolean)"));
        force = value.get<bool>();
    }
    return force;
}

}  // namespace aismi::bus
