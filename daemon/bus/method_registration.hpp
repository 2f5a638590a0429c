// What every *_methods.cpp registers its methods with. A service's methods are in its one file
// (partition_methods.cpp, recovery_methods.cpp, assignment_methods.cpp, firmware_methods.cpp,
// quota_methods.cpp, event_methods.cpp, query_methods.cpp, job_methods.cpp), registered on each
// object kind it has methods on; the adaptors (*_object.cpp) only call them. A handler holds
// the context and the object's key (a card index, a VfRef, a job id), never the adaptor:
// what it leaves for later (after polkit answers) re-resolves the key (bus_context.hpp).
#pragma once

#include "arguments.hpp"
#include "bus_context.hpp"
#include "interfaces.hpp"
#include "objects.hpp"

#include <aismi/device_ref.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include <string>
#include <vector>

namespace aismi::bus {

/// The answer to a call that returns nothing: the reply, or the error.
inline std::function<void(Result<void>)> answer(PendingCall pending) {
    return [pending](Result<void> r) mutable {
        if (r) pending.reply();
        else pending.fail(r.error());
    };
}

/// Registers `name` on `object`'s `interface`: `body(ctx, key, call)` runs guarded.
template <class Key, class Body>
void addMethod(sdbus::IObject& object, const char* interface, BusContext& ctx, Key key, const char* name, const char* in,
               std::vector<std::string> inNames, const char* out, std::vector<std::string> outNames, Body body) {
    object.registerMethod(interface, name, in, std::move(inNames), out, std::move(outNames),
                          [&ctx, key, body](sdbus::MethodCall call) { guarded(call, [&] { body(ctx, key, call); }); });
}

}  // namespace aismi::bus
