// Firmware images as a caller hands them to aismid: parsed or refused as MalformedData; what
// parses adds up (payload inside the bytes, its hash as stated) and fails a signature check
// against a key that never signed anything.
#include <aismi/firmware_image.hpp>

#include <cstddef>
#include <cstdint>

namespace {
// An Ed25519 public key nobody holds the private half of (fixed: no key generation per run).
const char* kStranger = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto image = aismi::firmware::parse(std::span<const uint8_t>(data, size));
    if (!image) {
        if (image.error().code != aismi::Errc::MalformedData) __builtin_trap();
        return 0;
    }
    if (image->payload.size() + aismi::firmware::kHeaderSize + aismi::firmware::kSignatureSize != size) __builtin_trap();
    if (!aismi::firmware::validVersion(image->version)) __builtin_trap();
    if (aismi::firmware::verifySignature(*image, {kStranger})) __builtin_trap();
    return 0;
}
