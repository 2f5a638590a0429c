// aismi-firmware-pack: makes a signed firmware image (docs/firmware.md) of a payload. A
// vendor's or a build system's tool, not the host's: it needs no aismid, and keeps OpenSSL out
// of aismi (linking it cost every aismi command 3.5 ms at start, docs/performance.md).
#pragma once

#include <aismi/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace aismi::firmware_pack {

struct PackRequest {
    bool help = false;
    std::string helpText;
    std::string keyFile;  // Ed25519 private key, PEM
    std::string version;  // the firmware version the image holds
    uint16_t vendor = 0, device = 0;
    std::string payload;  // the file to pack
    std::string output;   // the image to write (replaced whole, never half-written)
};

/// The command line (without the program name). Every word it does not understand is an error.
Result<PackRequest> parsePackArgs(const std::vector<std::string>& args);
/// Writes the image; returns the line that says what was written.
Result<std::string> runPack(const PackRequest& r);

}  // namespace aismi::firmware_pack
