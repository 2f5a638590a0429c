#include <aismi/firmware_image.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>
#include <memory>

namespace aismi::firmware {
namespace {

// Header layout (little-endian): magic[8] "AISMIFW\x01", vendor u16, device u16, payload size
// u32, version[32] NUL-padded, sha256[32], reserved[16] all zero.
constexpr std::string_view kMagic{"AISMIFW\x01", 8};
constexpr size_t kVersionOffset = 16, kVersionSize = 32, kHashOffset = 48, kReservedOffset = 80;

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24; }
void put16(uint8_t* p, uint16_t v) { p[0] = static_cast<uint8_t>(v), p[1] = static_cast<uint8_t>(v >> 8); }
void put32(uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

Error bad(const std::string& why) { return makeError(Errc::MalformedData, "firmware image: " + why); }

std::array<uint8_t, 32> sha256(std::span<const uint8_t> data) {
    std::array<uint8_t, 32> out{};
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Key readKey(const std::string& pem, bool isPrivate) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return nullptr;
    return Key(isPrivate ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

}  // namespace

bool validVersion(std::string_view v) {
    if (v.empty() || v.size() >= kVersionSize) return false;
    return std::all_of(v.begin(), v.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '+' || c == '-';
    });
}

int compareVersions(std::string_view a, std::string_view b) {
    const auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
    size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (i < a.size() && j < b.size() && isDigit(a[i]) && isDigit(b[j])) {
            size_t ei = i, ej = j;
            while (ei < a.size() && isDigit(a[ei])) ++ei;
            while (ej < b.size() && isDigit(b[ej])) ++ej;
            std::string_view x = a.substr(i, ei - i), y = b.substr(j, ej - j);
            while (x.size() > 1 && x[0] == '0') x.remove_prefix(1);
            while (y.size() > 1 && y[0] == '0') y.remove_prefix(1);
            if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
            if (int c = x.compare(y)) return c < 0 ? -1 : 1;
            i = ei, j = ej;
            continue;
        }
        if (i >= a.size()) return -1;
        if (j >= b.size()) return 1;
        if (a[i] != b[j]) return a[i] < b[j] ? -1 : 1;
        ++i, ++j;
    }
    return 0;
}

Result<Image> parse(std::span<const uint8_t> bytes) {
    if (bytes.size() < kHeaderSize + kSignatureSize)
        return bad(std::to_string(bytes.size()) + " bytes is shorter than a header and a signature (" + std::to_string(kHeaderSize + kSignatureSize) +
                   ")");
    const uint8_t* h = bytes.data();
    if (std::memcmp(h, kMagic.data(), kMagic.size()) != 0) return bad("not an aismi firmware image (no AISMIFW header)");
    Image img;
    img.vendor = le16(h + 8);
    img.device = le16(h + 10);
    const uint64_t size = le32(h + 12);
    if (size == 0) return bad("the header says the payload is empty");
    if (size > kMaxPayloadSize) return bad("the header says the payload is " + std::to_string(size) + " bytes, more than the " + std::to_string(kMaxPayloadSize) + " accepted");
    if (bytes.size() != kHeaderSize + size + kSignatureSize)
        return bad("the header says " + std::to_string(size) + " bytes of payload, but the image has " +
                   (bytes.size() < kHeaderSize + kSignatureSize ? std::string("none") : std::to_string(bytes.size() - kHeaderSize - kSignatureSize)) +
                   " (truncated or extended)");
    const char* v = reinterpret_cast<const char*>(h + kVersionOffset);
    const size_t vlen = strnlen(v, kVersionSize);
    img.version.assign(v, vlen);
    if (vlen == kVersionSize || !validVersion(img.version) ||
        std::any_of(h + kVersionOffset + vlen, h + kVersionOffset + kVersionSize, [](uint8_t c) { return c != 0; }))
        return bad("its version field is not 1 to 31 of [0-9A-Za-z._+-] padded with NUL");
    if (std::any_of(h + kReservedOffset, h + kHeaderSize, [](uint8_t c) { return c != 0; })) return bad("reserved header bytes are not zero");
    std::copy(h + kHashOffset, h + kHashOffset + 32, img.sha256.begin());
    img.payload = bytes.subspan(kHeaderSize, size);
    img.signed_ = bytes.subspan(0, kHeaderSize + size);
    img.signature = bytes.subspan(kHeaderSize + size, kSignatureSize);
    if (sha256(img.payload) != img.sha256) return bad("the payload's SHA-256 is not the one its header states (damaged)");
    return img;
}

Result<void> verifySignature(const Image& image, const std::vector<std::string>& trustedKeysPem) {
    if (trustedKeysPem.empty()) return makeError(Errc::PermissionDenied, "firmware image: no trusted keys to verify it with");
    for (size_t k = 0; k < trustedKeysPem.size(); ++k) {
        Key key = readKey(trustedKeysPem[k], false);
        if (!key) return makeError(Errc::ConfigInvalid, "trusted firmware key " + std::to_string(k + 1) + " is not a PEM public key");
        if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) return makeError(Errc::ConfigInvalid, "trusted firmware key " + std::to_string(k + 1) + " is not an Ed25519 key");
        std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
        if (ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
            EVP_DigestVerify(ctx.get(), image.signature.data(), image.signature.size(), image.signed_.data(), image.signed_.size()) == 1)
            return {};
    }
    return makeError(Errc::PermissionDenied, "firmware image: signed by none of the " + std::to_string(trustedKeysPem.size()) + " trusted key(s)");
}

Result<std::vector<uint8_t>> pack(std::span<const uint8_t> payload, uint16_t vendor, uint16_t device, const std::string& version,
                                  const std::string& privateKeyPem) {
    if (payload.empty() || payload.size() > kMaxPayloadSize)
        return makeError(Errc::InvalidArgument, "a firmware payload is 1 byte to " + std::to_string(kMaxPayloadSize >> 20) + " MiB, not " + std::to_string(payload.size()) + " bytes");
    if (!validVersion(version)) return makeError(Errc::InvalidArgument, "'" + version + "' is not a firmware version (1 to 31 of [0-9A-Za-z._+-])");
    Key key = readKey(privateKeyPem, true);
    if (!key || EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
        return makeError(Errc::InvalidArgument, "the signing key is not an Ed25519 private key in PEM (openssl genpkey -algorithm ed25519)");
    std::vector<uint8_t> out(kHeaderSize + payload.size() + kSignatureSize, 0);
    std::memcpy(out.data(), kMagic.data(), kMagic.size());
    put16(out.data() + 8, vendor);
    put16(out.data() + 10, device);
    put32(out.data() + 12, static_cast<uint32_t>(payload.size()));
    std::memcpy(out.data() + kVersionOffset, version.data(), version.size());
    const auto hash = sha256(payload);
    std::copy(hash.begin(), hash.end(), out.begin() + kHashOffset);
    std::copy(payload.begin(), payload.end(), out.begin() + kHeaderSize);
    std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
    size_t sigLen = kSignatureSize;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), out.data() + kHeaderSize + payload.size(), &sigLen, out.data(), kHeaderSize + payload.size()) != 1 ||
        sigLen != kSignatureSize)
        return makeError(Errc::Internal, "firmware image: signing failed");
    return out;
}

}  // namespace aismi::firmware
