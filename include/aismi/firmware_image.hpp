// aismi firmware images (docs/firmware.md): a fixed header naming the device the image fits,
// its version and the payload's size and SHA-256; the payload; an Ed25519 signature over both.
// Parsed and verified here, before anything touches a card; made by `aismi-firmware-pack`.
#pragma once

#include <aismi/error.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aismi::firmware {

inline constexpr size_t kHeaderSize = 96;
inline constexpr size_t kSignatureSize = 64;  // Ed25519
/// The largest payload accepted (a card's flash bank is far smaller).
inline constexpr uint64_t kMaxPayloadSize = 256ull << 20;

struct Image {
    uint16_t vendor = 0;
    uint16_t device = 0;
    std::string version;                 // 1 to 31 of [0-9A-Za-z._+-]
    std::array<uint8_t, 32> sha256{};    // of the payload, as the header states (and checked)
    std::span<const uint8_t> payload;    // inside the bytes parsed
    std::span<const uint8_t> signed_;    // header + payload: what the signature covers
    std::span<const uint8_t> signature;
};

/// Reads an image: MalformedData naming what is wrong (truncated, another format, a size
/// that does not add up, a payload whose hash is not the header's). The signature is not
/// checked here (verifySignature).
Result<Image> parse(std::span<const uint8_t> bytes);

/// Whether `image` is signed by one of `trustedKeysPem` (PEM public keys, Ed25519).
/// PermissionDenied ("signed by none of the N trusted keys") when not; ConfigInvalid for a
/// key that cannot be read.
Result<void> verifySignature(const Image& image, const std::vector<std::string>& trustedKeysPem);

/// Makes an image of `payload` for `vendor`:`device`, version `version`, signed with the
/// Ed25519 private key `privateKeyPem` (as `openssl genpkey -algorithm ed25519` writes it).
Result<std::vector<uint8_t>> pack(std::span<const uint8_t> payload, uint16_t vendor, uint16_t device, const std::string& version,
                                  const std::string& privateKeyPem);

bool validVersion(std::string_view version);

/// Compares two versions component by component ("1.10.0" > "1.9.2"; numeric parts as
/// numbers, others as text): <0, 0, >0.
int compareVersions(std::string_view a, std::string_view b);

}  // namespace aismi::firmware
