// The parts of libvirt domain XML aismi reads and writes: PCI hostdevs by their source
// address (never the guest-side address), the tenant in aismi's metadata namespace, and bad
// XML refused with what was wrong.
#include "domain_xml.hpp"

#include <gtest/gtest.h>

using namespace aismi;
using namespace aismi::vfio;

namespace {

const char* kDomain = R"(<domain type='kvm'>
  <name>vm1</name>
  <uuid>ad0320a3-8a19-48bc-929e-cca2c86a28b8</uuid>
  <metadata>
    <other:thing xmlns:other="https://example.com/x"><other:tenant>not-this</other:tenant></other:thing>
    <aismi:vm xmlns:aismi="https://aismi.org/xmlns/libvirt/1">
      <aismi:tenant> acme </aismi:tenant>
    </aismi:vm>
  </metadata>
  <devices>
    <disk type='file'/>
    <hostdev mode='subsystem' type='pci' managed='no'>
      <source><address domain='0x0000' bus='0x3b' slot='0x00' function='0x4'/></source>
      <address type='pci' domain='0x0000' bus='0x07' slot='0x00' function='0x0'/>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address bus='59' slot='1' function='2'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/></source></hostdev>
  </devices>
</domain>)";

}  // namespace

TEST(DomainXml, ReadsPciHostdevsByTheirSourceAndTheTenantFromOurNamespaceOnly) {
    auto d = parseDomainXml(kDomain);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->name, "vm1");
    EXPECT_EQ(d->uuid, "ad0320a3-8a19-48bc-929e-cca2c86a28b8");
    ASSERT_EQ(d->pciHostdevs.size(), 2u) << "USB hostdevs are not ours";
    EXPECT_EQ(d->pciHostdevs[0].str(), "0000:3b:00.4") << "the source, not the guest-side address";
    EXPECT_EQ(d->pciHostdevs[1].str(), "0000:3b:01.2") << "decimal as libvirt also accepts it";
    EXPECT_EQ(d->tenant, "acme");
}

TEST(DomainXml, AddsAndRemovesOneHostdevAndLeavesTheRestAsItWas) {
    const PciAddress a = PciAddress::parse("0000:3b:00.6").value();
    auto added = withHostdev(kDomain, a);
    ASSERT_TRUE(added.ok()) << added.error().message;
    auto d = parseDomainXml(*added);
    ASSERT_TRUE(d.ok());
    ASSERT_EQ(d->pciHostdevs.size(), 3u);
    EXPECT_EQ(d->pciHostdevs[2], a);
    EXPECT_EQ(d->tenant, "acme");
    EXPECT_NE(added->find("managed=\"no\""), std::string::npos);
    EXPECT_EQ(withHostdev(*added, a).value(), *added) << "adding it twice changes nothing";
    auto removed = withoutHostdev(*added, a);
    ASSERT_TRUE(removed.ok());
    EXPECT_EQ(parseDomainXml(*removed)->pciHostdevs.size(), 2u);
    EXPECT_NE(removed->find("<disk type=\"file\"/>"), std::string::npos) << "other devices stay";
    EXPECT_EQ(withoutHostdev(kDomain, a).value(), kDomain) << "removing what is not there changes nothing";
    auto bare = withHostdev("<domain><name>x</name></domain>", a);
    ASSERT_TRUE(bare.ok());
    EXPECT_EQ(parseDomainXml(*bare)->pciHostdevs.size(), 1u) << "a <devices> is made when there is none";
}

TEST(DomainXml, RefusesWhatIsNotADomainSayingWhy) {
    const auto why = [](const std::string& xml) {
        auto d = parseDomainXml(xml);
        EXPECT_FALSE(d.ok()) << xml;
        if (d.ok()) return std::string();
        EXPECT_EQ(d.error().code, Errc::MalformedData);
        return d.error().message;
    };
    EXPECT_NE(why("").find("domain XML"), std::string::npos);
    EXPECT_NE(why("<domain><name>x</name>").find("domain XML"), std::string::npos);
    EXPECT_NE(why("<network><name>x</name></network>").find("not <domain>"), std::string::npos);
    EXPECT_NE(why("<domain></domain>").find("no <name>"), std::string::npos);
    EXPECT_NE(why("<domain><name>a/b</name></domain>").find("not a domain name"), std::string::npos);
    EXPECT_NE(why("<domain><name>x</name><devices><hostdev mode='subsystem' type='pci'><source><address bus='0x100' slot='0' function='0'/>"
                  "</source></hostdev></devices></domain>")
                  .find("bus '0x100'"),
              std::string::npos);
    EXPECT_NE(why("<domain><name>x</name><devices><hostdev mode='subsystem' type='pci'/></devices></domain>").find("no <source><address>"),
              std::string::npos);
    EXPECT_NE(why("<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><domain><name>&e;</name></domain>").find("domain XML"), std::string::npos)
        << "external entities are never loaded";
    EXPECT_NE(why(std::string(kMaxDomainXmlBytes + 1, ' ')).find("larger than"), std::string::npos);
}

TEST(DomainXml, DomainNamesAreWhatLibvirtTakesForNames) {
    for (const char* ok : {"vm1", "web-01.example", "a b", "x"}) EXPECT_TRUE(validDomainName(ok)) << ok;
    for (std::string bad : {std::string(), std::string("12"), std::string("a/b"), std::string("a\nb"), std::string(201, 'x')})
        EXPECT_FALSE(validDomainName(bad)) << bad;
}
