// Firmware images: what `aismi-firmware-pack` makes parses and verifies against its key; every
// damaged image (a bit flipped anywhere, truncated at every boundary, another key) is refused
// with what is wrong.
#include <aismi/firmware_image.hpp>

#include "test_keys.hpp"

#include <gtest/gtest.h>

using namespace aismi;
using aismi::test::keyPair;
using aismi::test::payload;

TEST(FirmwareImage, APackedImageParsesAndVerifiesWithItsKeyOnly) {
    const auto [priv, pub] = keyPair();
    const auto [otherPriv, otherPub] = keyPair();
    const auto body = payload(1000);
    auto image = firmware::pack(body, 0xa15e, 0x0100, "2.1.0", priv);
    ASSERT_TRUE(image.ok()) << image.error().message;
    EXPECT_EQ(image->size(), firmware::kHeaderSize + 1000 + firmware::kSignatureSize);
    auto parsed = firmware::parse(*image);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->vendor, 0xa15e);
    EXPECT_EQ(parsed->device, 0x0100);
    EXPECT_EQ(parsed->version, "2.1.0");
    EXPECT_TRUE(std::equal(parsed->payload.begin(), parsed->payload.end(), body.begin(), body.end()));
    EXPECT_TRUE(firmware::verifySignature(*parsed, {pub}).ok());
    EXPECT_TRUE(firmware::verifySignature(*parsed, {otherPub, pub}).ok()) << "any trusted key";
    auto wrong = firmware::verifySignature(*parsed, {otherPub});
    ASSERT_FALSE(wrong.ok());
    EXPECT_EQ(wrong.error().code, Errc::PermissionDenied);
    EXPECT_NE(wrong.error().message.find("signed by none of the 1 trusted key(s)"), std::string::npos);
    EXPECT_EQ(firmware::verifySignature(*parsed, {}).error().code, Errc::PermissionDenied);
    EXPECT_EQ(firmware::verifySignature(*parsed, {"not a key"}).error().code, Errc::ConfigInvalid);
}

TEST(FirmwareImage, EveryFlippedBitAndEveryTruncationIsRefused) {
    const auto [priv, pub] = keyPair();
    const auto image = firmware::pack(payload(64), 0xa15e, 0x0100, "1.0", priv).value();
    for (size_t byte = 0; byte < image.size(); ++byte)
        for (int bit = 0; bit < 8; ++bit) {
            auto damaged = image;
            damaged[byte] ^= static_cast<uint8_t>(1 << bit);
            auto parsed = firmware::parse(damaged);
            const bool refused = !parsed || !firmware::verifySignature(*parsed, {pub});
            ASSERT_TRUE(refused) << "byte " << byte << " bit " << bit << " flipped was accepted";
        }
    for (size_t len = 0; len < image.size(); ++len) {
        auto parsed = firmware::parse(std::span<const uint8_t>(image.data(), len));
        ASSERT_FALSE(parsed.ok()) << "truncated to " << len;
        EXPECT_EQ(parsed.error().code, Errc::MalformedData);
    }
    auto longer = image;
    longer.push_back(0);
    EXPECT_NE(firmware::parse(longer).error().message.find("truncated or extended"), std::string::npos);
    EXPECT_NE(firmware::parse(std::vector<uint8_t>(200, 0)).error().message.find("no AISMIFW header"), std::string::npos);
    // The limit on a payload (docs/security.md, "Limits"): a header that claims more is refused
    // before anything is read past it.
    auto huge = image;
    const uint32_t over = static_cast<uint32_t>(firmware::kMaxPayloadSize + 1);
    for (int i = 0; i < 4; ++i) huge[12 + i] = static_cast<uint8_t>(over >> (8 * i));
    EXPECT_NE(firmware::parse(huge).error().message.find("more than the 268435456 accepted"), std::string::npos) << firmware::parse(huge).error().message;
}

TEST(FirmwareImage, PackRefusesWhatCannotBeAnImage) {
    const auto [priv, pub] = keyPair();
    EXPECT_EQ(firmware::pack({}, 1, 2, "1.0", priv).error().code, Errc::InvalidArgument);
    EXPECT_EQ(firmware::pack(payload(8), 1, 2, "1.0 beta", priv).error().code, Errc::InvalidArgument);
    EXPECT_EQ(firmware::pack(payload(8), 1, 2, std::string(32, '1'), priv).error().code, Errc::InvalidArgument);
    EXPECT_EQ(firmware::pack(payload(8), 1, 2, "1.0", pub).error().code, Errc::InvalidArgument) << "a public key cannot sign";
    EXPECT_EQ(firmware::pack(payload(firmware::kMaxPayloadSize + 1), 1, 2, "1.0", priv).error().code, Errc::InvalidArgument) << "past the limit";
}

TEST(FirmwareImage, VersionsCompareLikeVersions) {
    EXPECT_GT(firmware::compareVersions("1.10.0", "1.9.2"), 0);
    EXPECT_LT(firmware::compareVersions("1.2", "1.2.1"), 0);
    EXPECT_EQ(firmware::compareVersions("1.02", "1.2"), 0);
    EXPECT_GT(firmware::compareVersions("2.0-rc2", "2.0-rc1"), 0);
    EXPECT_LT(firmware::compareVersions("", "0"), 0);
}
