// One parser for how users name cards and VFs.
#include <aismi/device_ref.hpp>

#include <gtest/gtest.h>

using namespace aismi;

TEST(DeviceRef, ReadsCardsByIndexAddressAndSerial) {
    auto r = DeviceRef::parse("3");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->kind, DeviceRef::Kind::Card);
    EXPECT_EQ(r->card.kind, CardName::Kind::Index);
    EXPECT_EQ(r->card.index, 3u);
    r = DeviceRef::parse("AIS24110000");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->card.kind, CardName::Kind::Serial);
    for (const char* address : {"0000:3b:00.0", "3b:00.0", "0000:3B:00.0", "00000000:3B:00.0"}) {
        r = DeviceRef::parse(address);
        ASSERT_TRUE(r.ok()) << address;
        EXPECT_EQ(r->kind, DeviceRef::Kind::Address) << address;
        EXPECT_EQ(r->address.str(), "0000:3b:00.0") << address;
    }
}

TEST(DeviceRef, ReadsVfsAsCardColonVf) {
    for (const char* text : {"0:3", "AIS24110000:3", "0000:3b:00.0:3"}) {
        auto r = DeviceRef::parse(text);
        ASSERT_TRUE(r.ok()) << text;
        EXPECT_EQ(r->kind, DeviceRef::Kind::Vf) << text;
        EXPECT_EQ(r->vf, 3u) << text;
    }
    EXPECT_EQ(DeviceRef::parse("0000:3b:00.0:3")->card.kind, CardName::Kind::Address);
}

TEST(DeviceRef, CallsMalformedInputMalformed) {
    for (const char* bad : {"0000:zz:00.0", "3b.00.0", "", "0:", "a b", "0:x"}) {
        auto r = DeviceRef::parse(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, Errc::InvalidArgument) << bad;
    }
    EXPECT_EQ(DeviceRef::parse("99999999999").error().code, Errc::OutOfRange);
    EXPECT_EQ(DeviceRef::parse(std::string(500, 'x')).error().message.size() < 200, true) << "echoed input is capped";
}
