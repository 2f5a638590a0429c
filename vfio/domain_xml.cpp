#include "domain_xml.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <optional>

namespace aismi::vfio {
namespace {

struct DocFree {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

bool named(const xmlNode* n, const char* name) {
    return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

std::string attr(const xmlNode* n, const char* name) {
    xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
    if (!v) return {};
    std::string s(reinterpret_cast<const char*>(v));
    xmlFree(v);
    return s;
}

std::string content(const xmlNode* n) {
    xmlChar* v = xmlNodeGetContent(n);
    if (!v) return {};
    std::string s(reinterpret_cast<const char*>(v));
    xmlFree(v);
    // Element text may be indented: trim ASCII whitespace at both ends.
    const auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
    while (!s.empty() && ws(s.back())) s.pop_back();
    size_t i = 0;
    while (i < s.size() && ws(s[i])) ++i;
    return s.substr(i);
}

template <typename F>
void forChildren(const xmlNode* parent, const char* name, F&& f) {
    for (const xmlNode* c = parent->children; c; c = c->next)
        if (named(c, name)) f(c);
}

const xmlNode* firstChild(const xmlNode* parent, const char* name) {
    for (const xmlNode* c = parent->children; c; c = c->next)
        if (named(c, name)) return c;
    return nullptr;
}

Result<Doc> parse(std::string_view xml) {
    if (xml.size() > kMaxDomainXmlBytes)
        return makeError(Errc::MalformedData, "domain XML of " + std::to_string(xml.size()) + " bytes is larger than the " +
                                                  std::to_string(kMaxDomainXmlBytes) + " accepted");
    // No network, no DTD, no entity substitution; errors come back, not to stderr.
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS;
    Doc doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "domain.xml", nullptr, options));
    if (!doc) {
        const xmlError* e = xmlGetLastError();
        std::string why = e && e->message ? e->message : "not XML";
        while (!why.empty() && why.back() == '\n') why.pop_back();
        return makeError(Errc::MalformedData, "domain XML: " + why + (e ? " (line " + std::to_string(e->line) + ")" : ""));
    }
    const xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!root || !named(root, "domain")) return makeError(Errc::MalformedData, "domain XML: the root element is not <domain>");
    return doc;
}

// A number as libvirt writes address parts: "0x3b" or "59".
Result<unsigned> number(const std::string& text, unsigned max, const std::string& what) {
    const bool hex = text.starts_with("0x") || text.starts_with("0X");
    const char* b = text.data() + (hex ? 2 : 0);
    const char* e = text.data() + text.size();
    unsigned v = 0;
    auto [p, ec] = std::from_chars(b, e, v, hex ? 16 : 10);
    if (text.empty() || b == e || ec != std::errc() || p != e || v > max)
        return makeError(Errc::MalformedData, "domain XML: hostdev address " + what + " '" + text + "' is not a number from 0 to " +
                                                  std::to_string(max));
    return v;
}

bool isPciHostdev(const xmlNode* h) { return attr(h, "mode") == "subsystem" && attr(h, "type") == "pci"; }

// The source address of a PCI hostdev (not the guest-side <address> under <hostdev>).
Result<PciAddress> sourceAddress(const xmlNode* hostdev) {
    const xmlNode* source = firstChild(hostdev, "source");
    const xmlNode* a = source ? firstChild(source, "address") : nullptr;
    if (!a) return makeError(Errc::MalformedData, "domain XML: a PCI hostdev has no <source><address>");
    const std::string domain = attr(a, "domain");
    auto d = domain.empty() ? Result<unsigned>(0u) : number(domain, 0xffff, "domain");
    auto bus = number(attr(a, "bus"), 0xff, "bus");
    auto slot = number(attr(a, "slot"), 0x1f, "slot");
    auto fn = number(attr(a, "function"), 0x7, "function");
    for (auto* r : {&d, &bus, &slot, &fn})
        if (!*r) return std::move(*r).error();
    return PciAddress(static_cast<uint16_t>(*d), static_cast<uint8_t>(*bus), static_cast<uint8_t>(*slot), static_cast<uint8_t>(*fn));
}

Result<std::string> dump(xmlDoc* doc) {
    xmlChar* out = nullptr;
    int size = 0;
    xmlDocDumpFormatMemory(doc, &out, &size, 1);
    if (!out) return makeError(Errc::Internal, "domain XML: could not write it back");
    std::string s(reinterpret_cast<const char*>(out), static_cast<size_t>(size));
    xmlFree(out);
    return s;
}

}  // namespace

Result<DomainXml> parseDomainXml(std::string_view xml) {
    auto doc = parse(xml);
    if (!doc) return std::move(doc).error();
    const xmlNode* root = xmlDocGetRootElement(doc->get());
    DomainXml d;
    if (const xmlNode* n = firstChild(root, "name")) d.name = content(n);
    if (d.name.empty()) return makeError(Errc::MalformedData, "domain XML: no <name>");
    if (!validDomainName(d.name)) return makeError(Errc::MalformedData, "domain XML: '" + d.name + "' is not a domain name");
    if (const xmlNode* n = firstChild(root, "uuid")) d.uuid = content(n);
    if (const xmlNode* devices = firstChild(root, "devices")) {
        std::optional<Error> bad;
        forChildren(devices, "hostdev", [&](const xmlNode* h) {
            if (bad || !isPciHostdev(h)) return;
            auto a = sourceAddress(h);
            if (!a) bad = std::move(a).error();
            else d.pciHostdevs.push_back(*a);
        });
        if (bad) return std::move(*bad).context(d.name);
    }
    if (const xmlNode* metadata = firstChild(root, "metadata")) {
        for (const xmlNode* m = metadata->children; m; m = m->next) {
            if (!named(m, "vm") || !m->ns || !m->ns->href ||
                xmlStrcmp(m->ns->href, reinterpret_cast<const xmlChar*>(kMetadataNamespace)) != 0)
                continue;
            if (const xmlNode* t = firstChild(m, "tenant")) d.tenant = content(t);
        }
    }
    return d;
}

std::string hostdevXml(const PciAddress& a) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x%04x' bus='0x%02x' "
                  "slot='0x%02x' function='0x%x'/></source></hostdev>",
                  a.domain(), a.bus(), a.device(), a.function());
    return buf;
}

Result<std::string> withHostdev(std::string_view xml, const PciAddress& address) {
    auto doc = parse(xml);
    if (!doc) return std::move(doc).error();
    xmlNode* root = xmlDocGetRootElement(doc->get());
    xmlNode* devices = const_cast<xmlNode*>(firstChild(root, "devices"));
    if (!devices) devices = xmlNewChild(root, nullptr, reinterpret_cast<const xmlChar*>("devices"), nullptr);
    for (xmlNode* h = devices->children; h; h = h->next)
        if (named(h, "hostdev") && isPciHostdev(h))
            if (auto a = sourceAddress(h); a && *a == address) return std::string(xml);
    const std::string fragment = hostdevXml(address);
    xmlNode* parsed = nullptr;
    if (xmlParseInNodeContext(devices, fragment.data(), static_cast<int>(fragment.size()), 0, &parsed) != XML_ERR_OK || !parsed)
        return makeError(Errc::Internal, "domain XML: could not build the hostdev element");
    xmlAddChild(devices, parsed);
    return dump(doc->get());
}

Result<std::string> withoutHostdev(std::string_view xml, const PciAddress& address) {
    auto doc = parse(xml);
    if (!doc) return std::move(doc).error();
    xmlNode* root = xmlDocGetRootElement(doc->get());
    xmlNode* devices = const_cast<xmlNode*>(firstChild(root, "devices"));
    if (!devices) return std::string(xml);
    bool removed = false;
    for (xmlNode* h = devices->children; h;) {
        xmlNode* next = h->next;
        if (named(h, "hostdev") && isPciHostdev(h))
            if (auto a = sourceAddress(h); a && *a == address) {
                xmlUnlinkNode(h);
                xmlFreeNode(h);
                removed = true;
            }
        h = next;
    }
    if (!removed) return std::string(xml);
    return dump(doc->get());
}

bool validDomainName(std::string_view name) {
    if (name.empty() || name.size() > 200) return false;
    if (std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    return std::none_of(name.begin(), name.end(), [](char c) { return c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace aismi::vfio
