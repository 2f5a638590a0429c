// Every field aismi offers (--query-card, --query-vf, -q, JSON) reads a property aismid's
// interface declares: a field whose property was renamed or dropped would print "[N/A]"
// forever instead of failing.
#include "fields.hpp"
#include "introspection_xml.hpp"

#include <aismi/bus_names.hpp>

#include <gtest/gtest.h>

using namespace aismi;

namespace {

// The names of the properties `interface`'s XML declares.
std::set<std::string> propertiesOf(const std::string& interface) {
    std::set<std::string> out;
    auto interfaces = test::interfacesOf(test::readXml(interface));
    for (const auto& line : interfaces[interface])
        if (line.rfind("property ", 0) == 0) out.insert(line.substr(9, line.find(' ', 9) - 9));
    return out;
}

void expectFieldsAreProperties(const std::vector<cli::Field>& fields, const std::string& interface) {
    const auto declared = propertiesOf(interface);
    ASSERT_GT(declared.size(), 10u) << interface << ".xml was read";
    std::set<std::string> seen;
    for (const auto& f : fields) {
        EXPECT_TRUE(declared.count(f.property)) << "field " << f.name << " reads " << interface << "." << f.property << ", which the XML does not declare";
        EXPECT_TRUE(seen.insert(f.name).second) << "field " << f.name << " twice";
    }
}

}  // namespace

TEST(CliFields, EveryFieldIsAPropertyInTheXml) {
    expectFieldsAreProperties(cli::cardFields(), bus_names::kCardInterface);
    expectFieldsAreProperties(cli::vfFields(), bus_names::kVfInterface);
}
