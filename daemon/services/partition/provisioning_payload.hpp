// How a VF's provisioning is written into, and read from, a journal payload (provision-vf and
// provision-vfs entries): `PREFIXprofile`, `PREFIXtenant`, the resources. Shared by the two.
#pragma once

#include "desired_state_repository.hpp"
#include "operation_kind.hpp"

#include <aismi/text.hpp>

#include <optional>
#include <string>

namespace aismi::provisioning_payload {

using Provisioned = DesiredStateRepository::Provisioned;

inline constexpr const char* kBatchKind = "provision-vfs";

inline void encodeOne(PayloadWriter& w, const std::string& prefix, const std::optional<Provisioned>& p) {
    if (!p) return;
    w.add(prefix + "profile", p->profile.empty() ? "-" : p->profile);
    w.add(prefix + "tenant", p->tenant.empty() ? "-" : p->tenant);
    w.add(prefix + "compute_units", p->resources.computeUnits);
    w.add(prefix + "memory_mib", p->resources.memoryMib);
    w.add(prefix + "engines", p->resources.engines);
    w.add(prefix + "burst_units", p->resources.burstCap());
    w.add(prefix + "weight", p->resources.weight);
}

inline Result<std::optional<Provisioned>> decodeOne(const text::KeyValues& kv, const std::string& prefix, const char* what) {
    if (!kv.count(prefix + "profile")) return std::optional<Provisioned>();
    Provisioned p;
    auto profile = text::requireString(kv, prefix + "profile", what);
    auto tenant = text::requireString(kv, prefix + "tenant", what);
    auto cu = text::requireUnsigned(kv, prefix + "compute_units", what);
    auto mem = text::requireUnsigned(kv, prefix + "memory_mib", what);
    auto eng = text::requireUnsigned(kv, prefix + "engines", what);
    if (!profile || !tenant || !cu || !mem || !eng || *cu > UINT32_MAX || *eng > UINT32_MAX)
        return makeError(Errc::MalformedData, std::string(what) + ": bad " + prefix + "provisioning");
    p.profile = *profile == "-" ? "" : *profile;
    p.tenant = *tenant == "-" ? "" : *tenant;
    p.resources = Resources{static_cast<uint32_t>(*cu), *mem, static_cast<uint32_t>(*eng)};
    // Entries journaled before burst caps existed have none.
    for (auto [key, slot] : {std::pair{"burst_units", &p.resources.burstUnits}, {"weight", &p.resources.weight}}) {
        if (!kv.count(prefix + key)) continue;
        auto v = text::requireUnsigned(kv, prefix + key, what);
        if (!v || *v > UINT32_MAX) return makeError(Errc::MalformedData, std::string(what) + ": bad " + prefix + key);
        *slot = static_cast<uint32_t>(*v);
    }
    return std::optional<Provisioned>(p);
}


}  // namespace aismi::provisioning_payload
