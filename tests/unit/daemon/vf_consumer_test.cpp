// Who holds a VF, as one list of consumers: one of each kind, in kind order, and the refusals
// that name them.
#include "snapshot.hpp"
#include "vf_in_use.hpp"

#include <gtest/gtest.h>

using namespace aismi;

TEST(VfConsumers, OneOfEachKindInKindOrderAndTheBusPropertiesFromThem) {
    VfSnapshot vf;
    EXPECT_EQ(vf.user(), nullptr);
    EXPECT_FALSE(vf.quarantined());
    vf.setConsumer({ConsumerKind::Quarantine, "quarantine", "3 resets in 600 s"});
    vf.setConsumer({ConsumerKind::Domain, "web", "assigning"});
    vf.setConsumer({ConsumerKind::Domain, "web", "assigned"});  // replaces, never a second domain
    ASSERT_EQ(vf.consumers.size(), 2u);
    EXPECT_EQ(vf.consumers[0].kind, ConsumerKind::Domain);
    EXPECT_EQ(vf.consumers[1].kind, ConsumerKind::Quarantine);
    EXPECT_EQ(vf.domain(), "web");
    EXPECT_EQ(vf.assignment(), "assigned");
    EXPECT_EQ(vf.holder(), "");
    EXPECT_TRUE(vf.quarantined());
    EXPECT_EQ(vf.quarantineReason(), "3 resets in 600 s");
    ASSERT_NE(vf.user(), nullptr);
    EXPECT_EQ(vf.user()->describe(), "assigned to domain web");
    vf.clearConsumer(ConsumerKind::Domain);
    EXPECT_EQ(vf.user(), nullptr) << "quarantine keeps a VF out of use; it does not use it";
    EXPECT_TRUE(vf.quarantined());
    EXPECT_EQ(vf.domain(), "");
}

TEST(VfConsumers, ARefusalNamesWhoeverUsesTheVf) {
    CardSnapshot card;
    card.info.index = 2;
    card.vfs.resize(4);
    for (unsigned i = 0; i < 4; ++i) card.vfs[i].index = i;
    card.vfs[0].setConsumer({ConsumerKind::Domain, "db", "assigned"});
    card.vfs[1].setConsumer({ConsumerKind::Holder, "kubelet", ""});
    card.vfs[2].setConsumer({ConsumerKind::Quarantine, "quarantine", "by hand"});
    card.vfs[3].driver = "vfio-pci";
    EXPECT_EQ(vfsInUse(card, false), (std::vector<std::string>{"2:0 is assigned to domain db", "2:1 is held by kubelet", "2:3 is bound to vfio-pci"}));
    EXPECT_TRUE(vfTakenByConsumer(card.vfs[1]));
    EXPECT_FALSE(vfTakenByConsumer(card.vfs[2]));
    EXPECT_EQ(vfioBindingText(card.vfs[1]), "the VF is held by kubelet");
    EXPECT_EQ(vfioBindingText(card.vfs[3]), "the VF is bound to vfio-pci outside aismid (no domain or holder it knows of)");
}
