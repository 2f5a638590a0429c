// Ed25519 key pairs made at test time (no private key is in the repository).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aismi::test {

/// A fresh Ed25519 key pair as PEM: {private, public}.
std::pair<std::string, std::string> keyPair();

/// `n` bytes of a fixed pattern, as a firmware payload.
std::vector<uint8_t> payload(size_t n, uint8_t seed = 7);

}  // namespace aismi::test
