// The event history: typed events stored with what they are about, repeated warnings counted
// instead of recorded forever, journal fields, and the transitions a new poll is an event of.
#include "database.hpp"
#include "event_bus.hpp"
#include "event_history.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "snapshot.hpp"
#include "temp_dir.hpp"
#include "transitions.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace aismi;
using aismi::test::TempDir;

namespace {

struct History {
    TempDir tmp;
    std::unique_ptr<Database> db;
    std::unique_ptr<EventRepository> rows;
    EventBus bus;
    std::unique_ptr<EventHistory> history;
    std::vector<int64_t> signalled;  // ids of EventRecorded
    int64_t clock = 1000;

    History() {
        auto opened = Database::open(tmp.path());
        db = std::move(*opened);
        rows = std::make_unique<EventRepository>(*db);
        history = std::make_unique<EventHistory>(bus, *rows, EventHistory::Limits{1000, 86400, 300});
        history->now = [this] { return clock; };
        history->addressOf = [](unsigned card, std::optional<unsigned> vf) {
            return "0000:3b:00." + std::to_string(card) + (vf ? "/" + std::to_string(*vf) : "");
        };
        bus.subscribe<EventRecorded>([this](const EventRecorded& e) { signalled.push_back(e.event.id); });
    }
    std::vector<StoredEvent> all() { return rows->list({}).valueOr({}); }
};

CardSnapshot card(VfState vf0, Health vfHealth = Health::Ok) {
    CardSnapshot c;
    c.info.key = "AIS1";
    c.info.index = 0;
    c.info.pciAddress = "0000:3b:00.0";
    c.vfs.resize(2);
    for (unsigned k = 0; k < 2; ++k) {
        c.vfs[k].index = k;
        c.vfs[k].pciAddress = "0000:3b:00." + std::to_string(k + 4);
        c.vfs[k].status = VfStatus{};
    }
    c.vfs[0].status->state = vf0;
    c.vfs[0].health = vfHealth;
    c.telemetry.eccUncorrected = 0;
    return c;
}

}  // namespace

TEST(EventHistory, StoresTypedEventsWithWhatTheyAreAboutAndSignalsThem) {
    History h;
    h.bus.publish(Notice{EventType::Reset, Severity::Info, "card 0 (0000:3b:00.0) VF 2", "function-level reset in 101 ms", 0u, 2u});
    h.bus.publish(Notice{EventType::Quota, Severity::Info, "tenant acme", "quota removed"});
    const auto events = h.all();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].type, EventType::Reset);
    EXPECT_EQ(events[0].card, 0u);
    EXPECT_EQ(events[0].vf, 2u);
    EXPECT_EQ(events[0].address, "0000:3b:00.0/2");
    EXPECT_EQ(events[0].at, 1000);
    EXPECT_EQ(events[1].address, "") << "a tenant has no PCI address";
    EXPECT_EQ(h.signalled, (std::vector<int64_t>{events[0].id, events[1].id}));
}

TEST(EventHistory, CountsRepeatedWarningsInsteadOfRecordingThemForever) {
    History h;
    const Notice failing{EventType::PollFailed, Severity::Warning, "card 0 (0000:3b:00.0)", "poll failed: Input/output error", 0u};
    for (int i = 0; i < 100; ++i, ++h.clock) h.bus.publish(failing);
    EXPECT_EQ(h.all().size(), 1u) << "the first is recorded";
    EXPECT_EQ(h.history->suppressed(), 99u);
    h.bus.publish(Notice{EventType::Provision, Severity::Info, "card 0 VF 1", "provisioned", 0u, 1u});
    h.bus.publish(Notice{EventType::Provision, Severity::Info, "card 0 VF 1", "provisioned", 0u, 1u});
    EXPECT_EQ(h.all().size(), 3u) << "information is never held back";
    h.clock += 300;
    h.history->sweep();
    auto events = h.all();
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(events.back().message, "poll failed: Input/output error (repeated 99 more time(s) in 400 s)");
    EXPECT_EQ(events.back().severity, Severity::Warning);
    EXPECT_EQ(events.back().card, 0u);
    h.bus.publish(failing);  // after the sweep: a new run of it
    EXPECT_EQ(h.all().size(), 5u);
}

TEST(EventHistory, NamesEachJournalFieldWithAStableMessageIdPerType) {
    StoredEvent e{42, 1000, EventType::Quarantine, Severity::Critical, 1u, 3u, "0000:3c:00.7", "card 1 (0000:3c:00.0) VF 3", "quarantined"};
    const auto f = journalFields(e);
    const auto has = [&](const std::string& field) { return std::find(f.begin(), f.end(), field) != f.end(); };
    EXPECT_TRUE(has("MESSAGE=card 1 (0000:3c:00.0) VF 3: quarantined"));
    EXPECT_TRUE(has("PRIORITY=2"));
    EXPECT_TRUE(has("MESSAGE_ID=8bfabacb436b4091b4d78d3272fb6ae8"));
    EXPECT_TRUE(has("AISMI_EVENT=quarantine"));
    EXPECT_TRUE(has("AISMI_CARD=1"));
    EXPECT_TRUE(has("AISMI_VF=3"));
    EXPECT_TRUE(has("AISMI_PCI_ADDRESS=0000:3c:00.7"));
    EXPECT_TRUE(has("AISMI_EVENT_ID=42"));
    std::vector<std::string> ids;
    for (EventType t : allEventTypes()) {
        EXPECT_EQ(parseEventType(eventTypeName(t)), t);
        ids.emplace_back(eventMessageId(t));
    }
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end()) << "one MESSAGE_ID per type";
}

TEST(Transitions, AreVfStatesHealthEccAndTemperature) {
    CardSnapshot before = card(VfState::Running), now = card(VfState::Hung, Health::Warning);
    now.vfs[0].healthReasons = {"hung (the device says so)"};
    now.vfs[1].status->eccUncorrected = 2;
    now.telemetry.eccUncorrected = 3;
    now.thermal = Thermal::Warning;
    const auto t = transitions(before, now);
    std::vector<std::string> seen;
    for (const auto& n : t) seen.push_back(std::string(eventTypeName(n.type)) + (n.vf ? " vf" + std::to_string(*n.vf) : "") + ": " + n.message);
    EXPECT_EQ(seen, (std::vector<std::string>{
                        "ecc: 3 new uncorrectable ECC errors (3 in all): the card is degraded",
                        "thermal: temperature near its limit (was normal)",
                        "vf-state vf0: state hung (was running)",
                        "vf-health vf0: health warning: hung (the device says so)",
                        "ecc vf1: 2 new uncorrectable ECC errors: the VF is degraded",
                    }));
}

TEST(Transitions, SayNothingOfVfsWhenTheCardWasLostOrStaleOrTheVfIsAnotherOne) {
    CardSnapshot before = card(VfState::Running), now = card(VfState::Idle);
    now.lost = true;
    EXPECT_TRUE(transitions(before, now).empty());
    now = card(VfState::Idle);
    now.health = Health::Unknown;
    EXPECT_TRUE(transitions(before, now).empty());
    now = card(VfState::Idle);
    now.vfs[0].pciAddress = "0000:3b:01.0";
    EXPECT_TRUE(transitions(before, now).empty());
}

TEST(EventHistory, RecordsAPollsTransitionsTogether) {
    History h;
    CardSnapshot before = card(VfState::Running), now = card(VfState::Hung, Health::Warning);
    now.vfs[1].status->state = VfState::Running;
    h.bus.publish(CardUpdated{0, before, now});
    const auto events = h.all();
    ASSERT_EQ(events.size(), 3u) << "VF 0 state and health, VF 1 state";
    EXPECT_EQ(events[0].type, EventType::VfState);
    EXPECT_EQ(events[0].address, "0000:3b:00.0/0");
    EXPECT_EQ(events[2].vf, 1u);
    EXPECT_EQ(h.signalled.size(), 3u);
    h.bus.publish(CardUpdated{0, now, now});
    EXPECT_EQ(h.all().size(), 3u) << "nothing changed, nothing recorded";
}
