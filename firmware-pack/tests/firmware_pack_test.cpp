#include "firmware_pack.hpp"

#include <gtest/gtest.h>

using namespace aismi;
using namespace aismi::firmware_pack;

// aismi-firmware-pack's command line: options in any order, every word checked.
TEST(FirmwarePackOptions, TakesItsOptionsInAnyOrderAndRefusesWhatItDoesNotUnderstand) {
    auto r = parsePackArgs({"--device", "A15E:0100", "-o", "out.img", "--key", "k.pem", "payload", "--version", "2.0.0"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->help);
    EXPECT_EQ(r->vendor, 0xa15e);
    EXPECT_EQ(r->device, 0x0100);
    EXPECT_EQ(r->version, "2.0.0");
    EXPECT_EQ(r->payload, "payload");
    EXPECT_EQ(r->output, "out.img");
    EXPECT_EQ(r->keyFile, "k.pem");
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"p", "--key", "k", "--version", "1", "-o", "o"}, "--device is needed"},
        {{"p", "--device", "a15e:0100", "--version", "1", "-o", "o"}, "--key is needed"},
        {{"p", "--device", "a15e:0100", "--key", "k", "-o", "o"}, "--version is needed"},
        {{"p", "--device", "a15e:0100", "--key", "k", "--version", "1"}, "--output is needed"},
        {{"--key", "k", "--version", "1", "--device", "a15e", "-o", "o", "p"}, "VENDOR:DEVICE in hex"},
        {{"--key", "k", "--version", "1", "--device", "a15e:10000", "-o", "o", "p"}, "VENDOR:DEVICE in hex"},
        {{"--key", "k", "--version", "1", "--device", "a15e:0100", "-o", "o"}, "one PAYLOAD file is needed"},
        {{"--key", "k", "--version", "1", "--device", "a15e:0100", "-o", "o", "p", "q"}, "not 2 words ('p q')"},
        {{"--key", "k", "--version", "1", "--device", "a15e:0100", "-o", "o", "p", "-i", "0"}, "unrecognised option '-i'"},
        {{"--key", "k", "--verison", "1", "--device", "a15e:0100", "-o", "o", "p"}, "--verison"},
    };
    for (const auto& [args, words] : bad) {
        auto e = parsePackArgs(args);
        ASSERT_FALSE(e.ok()) << words;
        EXPECT_EQ(e.error().code, Errc::InvalidArgument);
        EXPECT_NE(e.error().message.find(words), std::string::npos) << e.error().message;
        EXPECT_NE(e.error().message.find("aismi-firmware-pack --help"), std::string::npos) << e.error().message;
    }
    auto help = parsePackArgs({"--help"});
    ASSERT_TRUE(help.ok());
    EXPECT_TRUE(help->help);
    EXPECT_NE(help->helpText.find("--device arg"), std::string::npos) << help->helpText;
    EXPECT_NE(help->helpText.find("Usage: aismi-firmware-pack"), std::string::npos) << help->helpText;
}
