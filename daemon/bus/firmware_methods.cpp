// Card1's firmware methods (polkit org.aismi.update-firmware): UpdateFirmware takes the image
// as a file descriptor, never a path, so aismid reads only what the caller could open;
// ActivateFirmware and RollbackFirmware; ListFirmwareUpdates (a read: open to everyone).
#include "objects.hpp"
#include "arguments.hpp"
#include "firmware_service.hpp"

#include <aismi/device_ref.hpp>
#include <sdbus-c++/sdbus-c++.h>

#include <map>

namespace aismi::bus {
namespace {

FirmwareService::UpdateRequest decodeUpdate(const std::map<std::string, sdbus::Variant>& options) {
    FirmwareService::UpdateRequest r;
    for (const auto& [name, value] : options) {
        const std::string type = value.peekValueType();
        const auto want = [&](const char* sig) {
            if (type != sig) throw toBusError(makeError(Errc::InvalidArgument, "UpdateFirmware: option " + name + " must be of type " + sig + ", not " + type));
        };
        if (name == "activate") {
            want("s");
            auto a = activationFromName(value.get<std::string>());
            if (!a) throw toBusError(makeError(Errc::InvalidArgument, "UpdateFirmware: activate is now, idle or never, not " + quoteInput(value.get<std::string>())));
            r.activate = *a;
        } else if (name == "allow_older") {
            want("b"), r.allowOlder = value.get<bool>();
        } else if (name == "allow_reinstall") {
            want("b"), r.allowReinstall = value.get<bool>();
        } else if (name == "force") {
            want("b"), r.force = value.get<bool>();
        } else {
            throw toBusError(makeError(Errc::InvalidArgument, "UpdateFirmware: unknown option " + quoteInput(name) + " (there are: activate, allow_older, allow_reinstall, force)"));
        }
    }
    return r;
}

void replyJob(PendingCall& pending, const Result<int64_t>& job) {
    if (!job) return pending.fail(job.error());
    pending.reply(sdbus::ObjectPath(jobPath(*job)));
}

}  // namespace

void registerFirmwareMethods(sdbus::IObject& object, BusContext& ctx, unsigned card) {
    object.registerMethod(kCardInterface, "UpdateFirmware", "ha{sv}", {"image", "options"}, "o", {"job"}, [&ctx, card](sdbus::MethodCall call) {
        guarded(call, [&] {
            sdbus::UnixFd fd;
            std::map<std::string, sdbus::Variant> options;
            readArguments(call, {"image", "options"}, fd, options);
            auto request = decodeUpdate(options);
            request.card = card;
            auto image = std::make_shared<sdbus::UnixFd>(std::move(fd));
            authorizeThen(ctx, call, kActionUpdateFirmware, [&ctx, image, request](PendingCall pending) mutable {
                ctx.firmware.updateFromFd(image->release(), std::move(request), [pending](Result<int64_t> job) mutable { replyJob(pending, job); });
            });
        });
    });
    const auto activation = [&ctx, card](const char* method, bool rollback) {
        return [&ctx, card, method, rollback](sdbus::MethodCall call) {
            guarded(call, [&] {
                const bool force = forceOption(call, method);
                authorizeThen(ctx, call, kActionUpdateFirmware, [&ctx, card, force, rollback](PendingCall pending) {
                    replyJob(pending, rollback ? ctx.firmware.rollback(card, force) : ctx.firmware.activate(card, force));
                });
            });
        };
    };
    object.registerMethod(kCardInterface, "ActivateFirmware", "a{sv}", {"options"}, "o", {"job"}, activation("ActivateFirmware", false));
    object.registerMethod(kCardInterface, "RollbackFirmware", "a{sv}", {"options"}, "o", {"job"}, activation("RollbackFirmware", true));
    object.registerMethod(kCardInterface, "ListFirmwareUpdates", "u", {"limit"}, "a(ttssusussstt)", {"updates"}, [&ctx, card](sdbus::MethodCall call) {
        guarded(call, [&] {
            uint32_t limit = 0;
            readArguments(call, {"limit"}, limit);
            if (limit < 1 || limit > 1000) throw toBusError(makeError(Errc::InvalidArgument, "ListFirmwareUpdates: limit is 1 to 1000, not " + std::to_string(limit)));
            auto rows = ctx.firmware.history(card, limit);
            if (!rows) throw toBusError(rows.error());
            std::vector<sdbus::Struct<uint64_t, uint64_t, std::string, std::string, uint32_t, std::string, uint32_t, std::string, std::string, std::string, uint64_t, uint64_t>> out;
            for (const auto& u : *rows)
                out.emplace_back(static_cast<uint64_t>(u.id), static_cast<uint64_t>(u.job), std::string(firmwareKindName(u.kind)), u.fromVersion, u.fromBank,
                                 u.toVersion, u.toBank, std::string(activationName(u.activate)), std::string(firmwareStateName(u.state)), u.reason,
                                 static_cast<uint64_t>(u.started), static_cast<uint64_t>(u.finished));
            auto reply = call.createReply();
            reply << out;
            reply.send();
        });
    });
}

}  // namespace aismi::bus
