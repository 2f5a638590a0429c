// The inventory's numbering: a card keeps its index across restarts and rescans, matched by
// serial, then by slot; a missing or unreadable card keeps its place as lost, so an index
// never names another card than it did.
#include "daemon_fixture.hpp"

#include <filesystem>

using namespace aismi;

namespace {

class InventoryTest : public aismi::test::DaemonFixture {
protected:
    void restart() {
        teardown();
        compose();
    }
    /// A scan result made up: a card with `serial` (empty: unreadable) at `address`.
    Inventory::Found found(const std::string& serial, const std::string& address) {
        CardInfo info;
        info.address = *PciAddress::parse(address);
        info.pciAddress = info.address.str();
        info.serial = serial.empty() ? info.pciAddress : serial;
        info.key = info.serial;
        info.name = "AIS-1";
        return Inventory::Found{std::make_shared<Card>(*fs, 0, info.address, true), info, !serial.empty()};
    }
    std::vector<Inventory::Found> scan(std::vector<Inventory::Found> f) { return f; }
};

}  // namespace

TEST_F(InventoryTest, ADamagedCardFileKeepsTheCardInItsPlaceAsLostWithTheFileNamed) {
    const std::string second = inventory->info(1).serial;
    restart();
    std::filesystem::resize_file(dir + "/card0.state", 100);  // issue 7 #5: truncate -s 100
    teardown();
    reopen();  // a new aismid reads the files afresh
    compose();
    ASSERT_EQ(inventory->size(), 2u);
    EXPECT_EQ(inventory->info(1).serial, second) << "card 1 is still card 1";
    EXPECT_EQ(inventory->info(0).serial, "AIS24110000") << "card 0 keeps the identity it had";
    const CardSnapshot& lost = inventory->snapshot(0);
    EXPECT_EQ(lost.health, Health::Lost);
    ASSERT_EQ(lost.healthReasons.size(), 1u);
    EXPECT_NE(lost.healthReasons[0].find("card0.state"), std::string::npos) << lost.healthReasons[0];
    EXPECT_EQ(inventory->snapshot(1).health, Health::Ok);
    EXPECT_EQ(*inventory->findCard("AIS24110000"), 0u);
}

TEST_F(InventoryTest, ACardMissingAtStartKeepsItsIndexAndTheOthersDoNotShift) {
    std::vector<Inventory::Found> onlySecond;
    auto all = inventory->scan();
    ASSERT_TRUE(all.ok());
    onlySecond.push_back(std::move(all->at(1)));
    const std::string second = onlySecond[0].info.serial;
    teardown();
    compose();
    // Start again as if card 0 were gone from the bus.
    auto adopted = inventory->adopt(std::move(onlySecond));
    ASSERT_TRUE(adopted.ok());
    EXPECT_TRUE(adopted->added.empty());
    ASSERT_EQ(inventory->size(), 2u);
    EXPECT_EQ(inventory->info(1).serial, second);
    EXPECT_TRUE(inventory->snapshot(0).lost);
    EXPECT_NE(inventory->snapshot(0).lostReason.find("not found at 0000:3b:00.0"), std::string::npos);
    poller->readAllNow();
    EXPECT_EQ(inventory->snapshot(0).health, Health::Ok) << "its polls find it where it was";
}

TEST_F(InventoryTest, MatchesBySerialFirstThenBySlot) {
    ASSERT_TRUE(inventory->adopt(scan({})).ok());  // the two remembered cards, both unseen
    const std::string first = inventory->info(0).serial, second = inventory->info(1).serial;
    // Card 0 moved to card 1's slot, and a new card sits in card 0's old slot.
    auto merged = inventory->merge(scan({found("NEW1", "0000:3b:00.0"), found(first, "0000:3d:00.0"), found(second, "0000:3f:00.0")}));
    EXPECT_EQ(merged.moved, (std::vector<unsigned>{0, 1}));
    EXPECT_TRUE(merged.replaced.empty());
    EXPECT_EQ(merged.added, std::vector<unsigned>{2});
    EXPECT_EQ(inventory->info(0).pciAddress, "0000:3d:00.0");
    EXPECT_EQ(inventory->info(2).serial, "NEW1");
    EXPECT_EQ(inventory->device(0)->address().str(), "0000:3d:00.0") << "a new handle at the new address";
    // A different card in a known slot takes the index; one that cannot be identified keeps it.
    merged = inventory->merge(scan({found("NEW2", "0000:3d:00.0"), found("", "0000:3f:00.0")}));
    EXPECT_EQ(merged.replaced, std::vector<unsigned>{0});
    EXPECT_EQ(inventory->info(0).serial, "NEW2");
    EXPECT_EQ(inventory->info(1).serial, second);
    // And all of it is remembered.
    auto known = knownCards->load();
    ASSERT_TRUE(known.ok());
    ASSERT_EQ(known->size(), 3u);
    EXPECT_EQ((*known)[0].serial, "NEW2");
    EXPECT_EQ((*known)[0].pciAddress, "0000:3d:00.0");
    EXPECT_EQ((*known)[1].serial, second);
    EXPECT_EQ((*known)[1].pciAddress, "0000:3f:00.0") << "unidentified in its slot: the identity it had";
    EXPECT_EQ((*known)[2].serial, "NEW1");
}
