// Manager1's tenant quota methods: SetQuota and RemoveQuota (polkit org.aismi.manage-quotas)
// and ListQuotas (open to everyone).
#include "objects.hpp"
#include "arguments.hpp"
#include "quota_service.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <limits>

namespace aismi::bus {
namespace {

constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

std::optional<uint64_t> limit(uint64_t wire) { return wire == kNoLimit ? std::nullopt : std::optional(wire); }

}  // namespace

void registerQuotaMethods(sdbus::IObject& object, BusContext& ctx) {
    object.registerMethod(kManagerInterface, "SetQuota", "sttt", {"tenant", "max_vfs", "max_compute_units", "max_memory_mib"}, "", {},
                          [&ctx](sdbus::MethodCall call) {
                              guarded(call, [&] {
                                  Quota q;
                                  uint64_t vfs = 0, compute = 0, memory = 0;
                                  readArguments(call, {"tenant", "max_vfs", "max_compute_units", "max_memory_mib"}, q.tenant, vfs, compute, memory);
                                  q.maxVfs = vfs;
                                  q.maxComputeUnits = limit(compute);
                                  q.maxMemoryMib = limit(memory);
                                  authorizeThen(ctx, call, kActionManageQuotas, [&ctx, q](PendingCall pending) {
                                      if (auto r = ctx.quotas.set(q); !r) return pending.fail(r.error());
                                      pending.reply();
                                  });
                              });
                          });
    object.registerMethod(kManagerInterface, "UpdateQuota", "sa{sv}", {"tenant", "limits"}, "", {}, [&ctx](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string tenant;
            std::map<std::string, sdbus::Variant> limits;
            readArguments(call, {"tenant", "limits"}, tenant, limits);
            QuotaService::Change change;
            for (const auto& [name, value] : limits) {
                const bool known = name == "max_vfs" || name == "max_compute_units" || name == "max_memory_mib";
                if (!known || value.peekValueType() != "t")
                    throw toBusError(makeError(Errc::InvalidArgument, "UpdateQuota: " + (known ? name + " must be of type t" : "unknown limit " + quoteInput(name)) +
                                                                          " (there are: max_vfs, max_compute_units, max_memory_mib, of type t)"));
                const uint64_t v = value.get<uint64_t>();
                if (name == "max_vfs") change.maxVfs = v;
                else (name == "max_compute_units" ? change.maxComputeUnits : change.maxMemoryMib) = limit(v);
            }
            authorizeThen(ctx, call, kActionManageQuotas, [&ctx, tenant, change](PendingCall pending) {
                if (auto r = ctx.quotas.update(tenant, change); !r) return pending.fail(r.error());
                pending.reply();
            });
        });
    });
    object.registerMethod(kManagerInterface, "RemoveQuota", "s", {"tenant"}, "", {}, [&ctx](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string tenant;
            readArguments(call, {"tenant"}, tenant);
            authorizeThen(ctx, call, kActionManageQuotas, [&ctx, tenant](PendingCall pending) {
                if (auto r = ctx.quotas.remove(tenant); !r) return pending.fail(r.error());
                pending.reply();
            });
        });
    });
    object.registerMethod(kManagerInterface, "ListQuotas", "", {}, "a(stttttt)", {"quotas"}, [&ctx](sdbus::MethodCall call) {
        guarded(call, [&] {
            auto rows = ctx.quotas.list();
            if (!rows) throw toBusError(rows.error());
            std::vector<sdbus::Struct<std::string, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t>> out;
            for (const auto& r : *rows)
                out.emplace_back(r.quota.tenant, r.quota.maxVfs, r.quota.maxComputeUnits.value_or(kNoLimit), r.quota.maxMemoryMib.value_or(kNoLimit),
                                 r.used.vfs, r.used.computeUnits, r.used.memoryMib);
            auto reply = call.createReply();
            reply << out;
            reply.send();
        });
    });
}

}  // namespace aismi::bus
