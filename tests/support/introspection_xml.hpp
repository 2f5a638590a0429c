// Introspection XML — daemon/dbus/org.aismi.*.xml and what a running aismid answers alike — as
// lines that say everything it declares of each org.aismi interface's members, so that two can
// be compared line by line (tests/integration/bus_api_test.cpp, tests/unit/cli_fields_test.cpp).
#pragma once

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace aismi::test {

// An interface as lines that say everything the XML says of a member, sorted:
//   method Assign(in s domain, in s tenant)
//   signal Event(t id, x at, ...)
//   property Health s read
using Interface = std::set<std::string>;

inline std::string xmlAttribute(const std::string& tag, const std::string& name) {
    const std::string key = " " + name + "=\"";
    const size_t at = tag.find(key);
    if (at == std::string::npos) return "";
    const size_t from = at + key.size();
    return tag.substr(from, tag.find('"', from) - from);
}

// The org.aismi interfaces of an introspection document (the XML files and aismid's answer
// alike). Annotations are the property tables' test's (tests/unit/bus/property_table_test.cpp).
inline std::map<std::string, Interface> interfacesOf(const std::string& xml) {
    std::map<std::string, Interface> out;
    Interface* iface = nullptr;
    std::string member, kind, args;
    const auto close = [&] {
        if (iface && !kind.empty()) iface->insert(kind + " " + member + "(" + args + ")");
        kind.clear();
        args.clear();
    };
    for (size_t at = xml.find('<'); at != std::string::npos; at = xml.find('<', at + 1)) {
        const size_t end = xml.find('>', at);
        if (end == std::string::npos) break;
        const std::string tag = xml.substr(at, end - at + 1);
        const auto is = [&](const char* t) { return tag.rfind(std::string("<") + t + " ", 0) == 0 || tag.rfind(std::string("<") + t + ">", 0) == 0; };
        if (is("interface")) {
            const std::string name = xmlAttribute(tag, "name");
            iface = name.rfind("org.aismi.", 0) == 0 ? &out[name] : nullptr;
        } else if (tag == "</interface>") {
            iface = nullptr;
        } else if (is("method") || is("signal")) {
            close();
            kind = is("method") ? "method" : "signal";
            member = xmlAttribute(tag, "name");
            if (tag.ends_with("/>")) close();
        } else if (tag == "</method>" || tag == "</signal>") {
            close();
        } else if (is("arg") && !kind.empty()) {
            std::string direction = kind == "method" ? xmlAttribute(tag, "direction") : "";
            if (kind == "method" && direction.empty()) direction = "in";  // the default for a method's argument
            args += (args.empty() ? "" : ", ") + (direction.empty() ? "" : direction + " ") + xmlAttribute(tag, "type") + " " + xmlAttribute(tag, "name");
        } else if (is("property") && iface) {
            iface->insert("property " + xmlAttribute(tag, "name") + " " + xmlAttribute(tag, "type") + " " + xmlAttribute(tag, "access"));
        }
    }
    return out;
}

/// daemon/dbus/<interface>.xml (AISMI_DBUS_XML_DIR).
inline std::string readXml(const std::string& interface) {
    std::ifstream in(std::string(AISMI_DBUS_XML_DIR) + "/" + interface + ".xml");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace aismi::test
