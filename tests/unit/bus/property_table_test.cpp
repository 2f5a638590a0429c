// The declared bus: the property tables agree with daemon/dbus/*.xml (names, types, const),
// apply the "not reported" conventions at the edge, and name what changed.
#include "interfaces.hpp"
#include "jobs.hpp"
#include "snapshot.hpp"

#include <algorithm>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace aismi;
using namespace aismi::bus;

namespace {

struct XmlProperty {
    std::string type;
    bool isConst = false;
    bool silent = false;  // EmitsChangedSignal "false"
};

// The properties of daemon/dbus/<interface>.xml: name -> type and whether it is const.
std::map<std::string, XmlProperty> xmlProperties(const std::string& interface) {
    std::ifstream in(std::string(AISMI_DBUS_XML_DIR) + "/" + interface + ".xml");
    std::stringstream text;
    text << in.rdbuf();
    const std::string xml = text.str();
    std::map<std::string, XmlProperty> out;
    // <property name="N" type="T" access="read"/> or <property ...> ... </property>
    const auto attr = [](const std::string& tag, const std::string& name) {
        const size_t at = tag.find(name + "=\"");
        if (at == std::string::npos) return std::string();
        const size_t from = at + name.size() + 2;
        return tag.substr(from, tag.find('"', from) - from);
    };
    for (size_t at = xml.find("<property "); at != std::string::npos; at = xml.find("<property ", at + 1)) {
        const size_t close = xml.find('>', at);
        const std::string tag = xml.substr(at, close - at + 1);
        XmlProperty p{attr(tag, "type"), false, false};
        if (tag[tag.size() - 2] != '/') {
            const size_t end = xml.find("</property>", close);
            p.isConst = xml.substr(close, end - close).find("value=\"const\"") != std::string::npos;
            p.silent = xml.substr(close, end - close).find("value=\"false\"") != std::string::npos;
        }
        out[attr(tag, "name")] = p;
    }
    return out;
}

template <class Subject>
void expectTableMatchesXml(const PropertyTable<Subject>& table, const std::string& interface) {
    auto xml = xmlProperties(interface);
    ASSERT_FALSE(xml.empty()) << interface;
    for (const auto& row : table) {
        auto it = xml.find(row.name);
        ASSERT_NE(it, xml.end()) << interface << "." << row.name << " is served but not in the XML";
        EXPECT_EQ(it->second.type, row.signature) << interface << "." << row.name;
        EXPECT_EQ(it->second.isConst, row.change == Change::Const) << interface << "." << row.name;
        EXPECT_EQ(it->second.silent, row.change == Change::Silent) << interface << "." << row.name;
        xml.erase(it);
    }
    for (const auto& [name, p] : xml) ADD_FAILURE() << interface << "." << name << " is in the XML but not served";
}

}  // namespace

TEST(PropertyTables, AgreeWithTheIntrospectionXml) {
    expectTableMatchesXml(managerProperties(), "org.aismi.Manager1");
    expectTableMatchesXml(cardProperties(), "org.aismi.Card1");
    expectTableMatchesXml(vfProperties(), "org.aismi.VirtualFunction1");
    expectTableMatchesXml(jobProperties(), "org.aismi.Job1");
}

TEST(PropertyTables, SendWhatTheCardDoesNotReportAsTheBusConventions) {
    CardSnapshot c;
    EXPECT_TRUE(std::isnan(std::get<double>(findRow(cardProperties(), "TemperatureC")->get(c))));
    EXPECT_EQ(std::get<uint32_t>(findRow(cardProperties(), "LinkWidth")->get(c)), UINT32_MAX);
    EXPECT_EQ(std::get<uint64_t>(findRow(cardProperties(), "EccUncorrected")->get(c)), UINT64_MAX);
    EXPECT_EQ(std::get<std::string>(findRow(cardProperties(), "Health")->get(c)), "ok");
    VfSnapshot v;
    EXPECT_EQ(std::get<std::string>(findRow(vfProperties(), "State")->get(v)), "unknown");
    EXPECT_EQ(std::get<int32_t>(findRow(vfProperties(), "IommuGroup")->get(v)), -1);
    v.status = VfStatus{VfState::Running, 7, 30, 0, 0, 0, 0};
    EXPECT_EQ(std::get<std::string>(findRow(vfProperties(), "State")->get(v)), "running");
    EXPECT_EQ(std::get<uint64_t>(findRow(vfProperties(), "Progress")->get(v)), 7u);
}

TEST(PropertyTables, NameTheChangedProperties) {
    CardSnapshot a;
    a.telemetry.temperatureC = 50;
    a.vfs.resize(2);
    CardSnapshot b = a;
    EXPECT_TRUE(changedProperties(cardProperties(), a, b).empty());
    b.telemetry.temperatureC = 51;
    b.vfs.pop_back();
    EXPECT_EQ(changedProperties(cardProperties(), a, b), (std::vector<std::string>{"TemperatureC", "VfEnabled", "VirtualFunctions"}));
    a.telemetry.powerW.reset();
    b = a;
    EXPECT_TRUE(changedProperties(cardProperties(), a, b).empty()) << "NaN equals NaN here";
    VfSnapshot v, w;
    w.status = VfStatus{};
    v.status = VfStatus{};
    w.status->progress = 7;
    EXPECT_EQ(changedProperties(vfProperties(), v, w), std::vector<std::string>{"Progress"});
    Job j, k;
    k.id = 5;  // const properties never signal
    EXPECT_TRUE(changedProperties(jobProperties(), j, k).empty());
}

namespace {

// Records what appendColumn writes, in the order sdbus::Message would get it.
struct RecordingMessage {
    std::vector<std::string> opened;
    std::vector<WireValue> values;
    int open = 0;
    void openVariant(const std::string& sig) { opened.push_back("v:" + sig), ++open; }
    void openContainer(const std::string& sig) { opened.push_back("a:" + sig), ++open; }
    void closeContainer() { --open; }
    void closeVariant() { --open; }
    template <class T>
    RecordingMessage& operator<<(const T& x) {
        values.emplace_back(x);
        return *this;
    }
};

}  // namespace

TEST(PropertyTables, BuildTypedColumns) {
    CardSnapshot a, b;
    a.telemetry.temperatureC = 40;
    const std::vector<const CardSnapshot*> cards{&a, &b};
    RecordingMessage temp;
    appendColumn(temp, *findRow(cardProperties(), "TemperatureC"), cards);
    EXPECT_EQ(temp.opened, (std::vector<std::string>{"v:ad", "a:d"}));
    EXPECT_EQ(temp.open, 0) << "every container closed";
    ASSERT_EQ(temp.values.size(), 2u);
    EXPECT_EQ(std::get<double>(temp.values[0]), 40);
    EXPECT_TRUE(std::isnan(std::get<double>(temp.values[1]))) << "not reported: NaN on the wire";
    RecordingMessage generic;
    appendColumn(generic, *findRow(cardProperties(), "GenericMode"), cards);
    EXPECT_EQ(generic.opened, (std::vector<std::string>{"v:ab", "a:b"}));
    EXPECT_TRUE(std::holds_alternative<bool>(generic.values.at(0)));
}

TEST(PropertyTables, SignalTheVfListOnlyWhenTheVfsComeOrGo) {
    CardSnapshot a, b;
    a.vfs.resize(2);
    b.vfs.resize(2);
    b.vfs[1].driver = "vfio-pci";  // a VF's own property, not the list
    auto names = changedProperties(cardProperties(), a, b);
    EXPECT_EQ(std::count(names.begin(), names.end(), "VirtualFunctions"), 0);
    b.vfs.resize(3);
    names = changedProperties(cardProperties(), a, b);
    EXPECT_EQ(std::count(names.begin(), names.end(), "VirtualFunctions"), 1);
    EXPECT_EQ(std::count(names.begin(), names.end(), "VfEnabled"), 1);
}
