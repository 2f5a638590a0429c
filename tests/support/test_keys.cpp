#include "test_keys.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace aismi::test {

std::pair<std::string, std::string> keyPair() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    const auto pem = [&](bool priv) {
        BIO* bio = BIO_new(BIO_s_mem());
        if (priv) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
        else PEM_write_bio_PUBKEY(bio, key);
        char* data = nullptr;
        const long n = BIO_get_mem_data(bio, &data);
        std::string s(data, static_cast<size_t>(n));
        BIO_free(bio);
        return s;
    };
    auto out = std::pair{pem(true), pem(false)};
    EVP_PKEY_free(key);
    return out;
}

std::vector<uint8_t> payload(size_t n, uint8_t seed) {
    std::vector<uint8_t> p(n);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 31 + seed);
    return p;
}

}  // namespace aismi::test
