// The bus, checked: what a running aismid serves — every method, signal and property of every
// org.aismi interface on the manager, a card, a VF and a job — is exactly what
// daemon/dbus/org.aismi.*.xml declares: names, argument names, types and directions, access.
// Introspection is what sdbus-c++ builds from the registrations, so a method registered with
// another signature or argument name, or one the XML lacks (or has and aismid does not serve),
// fails here.
#include "introspection_xml.hpp"
#include "stack.hpp"

#include <aismi/bus_names.hpp>

#include <gtest/gtest.h>
#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <iterator>

using namespace aismi::test;
namespace names = aismi::bus_names;

namespace {

std::string lines(const Interface& i) {
    std::string s;
    for (const auto& l : i) s += "  " + l + "\n";
    return s;
}

class BusApi : public ::testing::Test {
protected:
    void SetUp() override {
        stack.startDaemon();
        connection = sdbus::createSessionBusConnectionWithAddress(stack.busAddress());
    }
    std::string introspect(const std::string& path) {
        auto proxy = sdbus::createProxy(*connection, names::kService, path);
        std::string xml;
        proxy->callMethod("Introspect").onInterface("org.freedesktop.DBus.Introspectable").storeResultsTo(xml);
        return xml;
    }
    // The one org.aismi interface `path` serves, equal to its XML file.
    void expectServes(const std::string& path, const std::string& interface) {
        auto served = interfacesOf(introspect(path));
        ASSERT_EQ(served.size(), 1u) << path << " serves one org.aismi interface";
        ASSERT_EQ(served.begin()->first, interface) << path;
        auto declared = interfacesOf(readXml(interface));
        ASSERT_EQ(declared.size(), 1u) << interface << ".xml";
        const Interface& have = served.begin()->second;
        const Interface& want = declared.begin()->second;
        ASSERT_GT(want.size(), 3u) << interface << ".xml was read";
        Interface missing, extra;
        std::set_difference(want.begin(), want.end(), have.begin(), have.end(), std::inserter(missing, missing.end()));
        std::set_difference(have.begin(), have.end(), want.begin(), want.end(), std::inserter(extra, extra.end()));
        EXPECT_TRUE(missing.empty() && extra.empty()) << path << " (" << interface << ")\n in the XML, not served so:\n"
                                                      << lines(missing) << " served, not in the XML so:\n" << lines(extra);
    }
    Stack stack;
    std::unique_ptr<sdbus::IConnection> connection;
};

}  // namespace

TEST(BusApiParser, SeesWhatADifferenceWouldBe) {
    // The comparison is only as good as the parse: a renamed argument, a changed type or
    // direction, and a missing member each make another line.
    const std::string xml = R"(<node><interface name="org.aismi.X1">
      <method name="Do"><arg name="a" type="s"/><arg name="b" type="o" direction="out"/></method>
      <signal name="Happened"><arg name="id" type="t"/></signal>
      <property name="P" type="u" access="read"><annotation name="x" value="const"/></property>
      </interface><interface name="org.freedesktop.DBus.Peer"><method name="Ping"/></interface></node>)";
    auto parsed = interfacesOf(xml);
    ASSERT_EQ(parsed.size(), 1u);
    EXPECT_EQ(parsed["org.aismi.X1"], (Interface{"method Do(in s a, out o b)", "signal Happened(t id)", "property P u read"}));
}

TEST_F(BusApi, AismidServesExactlyItsIntrospectionXml) {
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);  // VFs, and a job
    auto manager = sdbus::createProxy(*connection, names::kService, names::kManagerPath);
    std::vector<sdbus::ObjectPath> jobs;
    manager->callMethod("ListJobs").onInterface(names::kManagerInterface).storeResultsTo(jobs);
    ASSERT_FALSE(jobs.empty()) << "the VF count change left its job";
    expectServes(names::kManagerPath, names::kManagerInterface);
    expectServes(names::cardPath(0), names::kCardInterface);
    expectServes(names::vfPath(0, 1), names::kVfInterface);
    expectServes(jobs.front(), names::kJobInterface);
}
