// What aismid reads back from its own journal after a crash: the payloads of provision-vf,
// provision-vfs, set-vf-count and firmware-write/firmware-activate entries. A damaged row must be an error, never a crash; one
// that decodes must encode to something that decodes to the same.
#include "firmware_internal.hpp"
#include "provision_service.hpp"
#include "vf_count_service.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    if (auto p = aismi::ProvisionService::Payload::decode(text)) {
        auto again = aismi::ProvisionService::Payload::decode(p->encode());
        if (!again || again->vf != p->vf || again->next != p->next || again->previous != p->previous) __builtin_trap();
    }
    if (auto b = aismi::ProvisionService::BatchPayload::decode(text)) {
        auto again = aismi::ProvisionService::BatchPayload::decode(b->encode());
        if (!again || again->vfs.size() != b->vfs.size()) __builtin_trap();
    }
    (void)aismi::VfCountService::Payload::decode(text);
    if (auto f = aismi::firmware_detail::Payload::decode(text)) {
        auto again = aismi::firmware_detail::Payload::decode(f->encode());
        if (!again || again->update != f->update || again->toBank != f->toBank || again->toVersion != f->toVersion || again->sha256 != f->sha256)
            __builtin_trap();
    }
    return 0;
}
