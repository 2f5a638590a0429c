// The error names a bus client gets: the bus library's standard org.freedesktop.DBus.Error.*
// where the call never reaches aismid (wrong argument types, unknown objects, methods and
// properties, read-only properties), and the documented org.aismi.Error.<Name> where aismid
// answers itself. Nothing of it changes any state.
#include "stack.hpp"

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

using namespace aismi::test;

namespace {

class BusErrors : public ::testing::Test {
protected:
    void SetUp() override {
        stack.startDaemon();
        connection = sdbus::createSessionBusConnectionWithAddress(stack.busAddress());
    }
    /// The error name a call gets back ("" when it succeeds); its message goes to `message`.
    std::string errorOf(const std::string& path, const std::string& iface, const std::string& method,
                        const std::function<void(sdbus::MethodCall&)>& args = {}, std::string* message = nullptr) {
        auto proxy = sdbus::createProxy(*connection, "org.aismi.Manager1", path);
        auto call = proxy->createMethodCall(iface, method);
        if (args) args(call);
        try {
            proxy->callMethod(call);
        } catch (const sdbus::Error& e) {
            if (message) *message = e.getMessage();
            return e.getName();
        }
        return "";
    }
    Stack stack;
    std::unique_ptr<sdbus::IConnection> connection;
};

const std::string kManager = "/org/aismi/Manager1";
const std::string kCard0 = "/org/aismi/Manager1/card0";

}  // namespace

TEST_F(BusErrors, WrongArgumentTypesAreInvalidArgs) {
    EXPECT_EQ(errorOf(kManager, "org.aismi.Manager1", "FindCard", [](auto& c) { c << uint32_t{0}; }),
              "org.freedesktop.DBus.Error.InvalidArgs");
    EXPECT_EQ(errorOf(kManager, "org.aismi.Manager1", "FindCard"), "org.freedesktop.DBus.Error.InvalidArgs") << "no argument";
    EXPECT_EQ(errorOf(kCard0, "org.aismi.Card1", "SetVfCount", [](auto& c) { c << std::string("4"); }),
              "org.freedesktop.DBus.Error.InvalidArgs");
    EXPECT_EQ(errorOf(kCard0, "org.aismi.Card1", "SetVfCount", [](auto& c) { c << uint32_t{4} << uint32_t{4}; }),
              "org.freedesktop.DBus.Error.InvalidArgs")
        << "one argument too many";
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "0\n") << "nothing changed";
}

TEST_F(BusErrors, UnknownObjectsMethodsAndPropertiesAreTheBusStandardOnes) {
    EXPECT_EQ(errorOf("/org/aismi/Manager1/card9", "org.aismi.Card1", "SetVfCount", [](auto& c) { c << uint32_t{1}; }),
              "org.freedesktop.DBus.Error.UnknownObject");
    EXPECT_EQ(errorOf("/org/aismi/Manager1/job99", "org.aismi.Job1", "Cancel"), "org.freedesktop.DBus.Error.UnknownObject");
    EXPECT_EQ(errorOf(kCard0, "org.aismi.Card1", "Explode"), "org.freedesktop.DBus.Error.UnknownMethod");
    EXPECT_EQ(errorOf(kCard0, "org.freedesktop.DBus.Properties", "Get",
                      [](auto& c) { c << std::string("org.aismi.Card1") << std::string("Nope"); }),
              "org.freedesktop.DBus.Error.UnknownProperty");
    EXPECT_EQ(errorOf(kCard0, "org.freedesktop.DBus.Properties", "Set",
                      [](auto& c) { c << std::string("org.aismi.Card1") << std::string("Name") << sdbus::Variant(std::string("x")); }),
              "org.freedesktop.DBus.Error.PropertyReadOnly");
}

TEST_F(BusErrors, WhatAismidRefusesItselfCarriesItsOwnNames) {
    EXPECT_EQ(errorOf(kManager, "org.aismi.Manager1", "FindCard", [](auto& c) { c << std::string("9"); }), "org.aismi.Error.NotFound");
    EXPECT_EQ(errorOf(kManager, "org.aismi.Manager1", "FindCard", [](auto& c) { c << std::string("0000:zz:00.0"); }),
              "org.aismi.Error.InvalidArgument");
    EXPECT_EQ(errorOf(kCard0, "org.aismi.Card1", "SetVfCount", [](auto& c) { c << uint32_t{100}; }), "org.aismi.Error.OutOfRange");
    EXPECT_EQ(errorOf(kManager, "org.aismi.Manager1", "Query",
                      [](auto& c) { c << std::string("org.aismi.Card1") << std::vector<std::string>{"Nope"}; }),
              "org.aismi.Error.InvalidArgument");
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "0\n") << "nothing changed";
}

// The limits of core/limits.hpp on what a call may carry (docs/security.md, "Limits"): past them
// a call is refused before anything acts on it, with the argument and the limit named.
TEST_F(BusErrors, ArgumentsPastTheLimitsAreRefusedNamingTheArgumentAndTheLimit) {
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    const std::string vf0 = kCard0 + "/vf0";
    const auto refused = [&](const std::string& path, const std::string& iface, const std::string& method,
                             const std::function<void(sdbus::MethodCall&)>& args, const std::string& words) {
        std::string message;
        EXPECT_EQ(errorOf(path, iface, method, args, &message), "org.aismi.Error.InvalidArgument") << method;
        EXPECT_NE(message.find(words), std::string::npos) << message;
    };
    const std::string long4097(4097, 'a');
    refused(vf0, "org.aismi.VirtualFunction1", "Provision", [&](auto& c) { c << std::string("quarter") << long4097; },
            "Provision: tenant is 4097 bytes long; at most 4096");
    refused(vf0, "org.aismi.VirtualFunction1", "Quarantine", [&](auto& c) { c << long4097; }, "Quarantine: reason is 4097 bytes long; at most 4096");
    refused(kManager, "org.aismi.Manager1", "SetQuota", [&](auto& c) { c << long4097 << uint64_t{1} << uint64_t{1} << uint64_t{1}; },
            "SetQuota: tenant is 4097 bytes long");
    refused(kManager, "org.aismi.Manager1", "FindCard", [&](auto& c) { c << long4097; }, "FindCard: id is 4097 bytes long");
    refused(kManager, "org.aismi.Manager1", "Query",
            [&](auto& c) { c << std::string("org.aismi.Card1") << std::vector<std::string>(1025, "Index"); },
            "Query: properties has 1025 elements; at most 1024");
    std::map<std::string, sdbus::Variant> many;
    for (int i = 0; i < 1025; ++i) many["k" + std::to_string(i)] = sdbus::Variant(true);
    refused(kCard0, "org.aismi.Card1", "SetVfCountWithOptions", [&](auto& c) { c << uint32_t{1} << many; },
            "SetVfCountWithOptions: options has 1025 elements; at most 1024");
    refused(kManager, "org.aismi.Manager1", "ListEvents",
            [&](auto& c) { c << std::map<std::string, sdbus::Variant>{{"types", sdbus::Variant(std::vector<std::string>{long4097})}}; },
            "ListEvents: filters is 4097 bytes long");
    refused(kManager, "org.aismi.Manager1", "CheckDomainStart", [&](auto& c) { c << std::string((1 << 20) + 1, ' '); },
            "CheckDomainStart: domain_xml is 1048577 bytes long; at most 1048576");
    EXPECT_EQ(stack.vfField("0:0", "profile,tenant,quarantined"), "[N/A], [N/A], false") << "nothing changed";
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "2\n");
    EXPECT_EQ(stack.aismi({"quota", "show"}).out.find("aaaa"), std::string::npos);
}
