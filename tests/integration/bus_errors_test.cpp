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
    /// The error name a call gets back ("" when it succeeds).
    std::string errorOf(const std::string& path, const std::string& iface, const std::string& method,
                        const std::function<void(sdbus::MethodCall&)>& args = {}) {
        auto proxy = sdbus::createProxy(*connection, "org.aismi.Manager1", path);
        auto call = proxy->createMethodCall(iface, method);
        if (args) args(call);
        try {
            proxy->callMethod(call);
        } catch (const sdbus::Error& e) {
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
