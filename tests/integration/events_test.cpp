// The event history and the health view through the real aismid and aismi: a hang detected,
// reset, recorded, signalled (aismi events --follow) and shown by aismi health; a reading that
// does not come in time is unknown, never a stale ok; bad filters are refused.
#include "json_parse.hpp"
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace aismi::test;


TEST(Events, AHungVfIsResetRecordedSignalledAndShownInHealth) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    for (const char* vf : {"0:0", "0:1", "0:3"}) ASSERT_EQ(stack.sim({"load", vf, "on"}).exitCode, 0);
    // A follower from an unprivileged uid: reading events needs no authorization.
    Process follower = stack.spawnAismi({"events", "--follow", "-j", "-i", "0"}, 65534, "follow");
    const std::string followed = stack.path("follow.out");
    ASSERT_TRUE(waitForText(followed, "\"type\": \"vf-count\"")) << "the history first: " << fileText(followed) << fileText(stack.path("follow.err"));
    ASSERT_EQ(stack.sim({"inject", "0:1", "vf-hang"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForVf("0:1", "reset_count", "1")) << stack.daemonLog();
    ASSERT_TRUE(waitForText(followed, "\"type\": \"reset\"")) << fileText(followed);
    // Every line the follower printed is one JSON object, in id order.
    std::istringstream lines(fileText(followed));
    double lastId = 0;
    bool sawAutoReset = false;
    for (std::string line; std::getline(lines, line);) {
        std::string error;
        auto event = parseJson(line, &error);
        ASSERT_TRUE(event) << error << ": " << line;
        EXPECT_GT((*event)["id"].num(), lastId) << line;
        lastId = (*event)["id"].num();
        EXPECT_EQ((*event)["card"].num(), 0) << "-i 0 follows card 0 only: " << line;
        if ((*event)["type"].str() == "auto-reset") {
            sawAutoReset = true;
            EXPECT_EQ((*event)["vf"].num(), 1);
            EXPECT_EQ((*event)["pci.bus_id"].str(), "0000:3b:00.5");
            EXPECT_EQ((*event)["severity"].str(), "warning");
        }
    }
    EXPECT_TRUE(sawAutoReset) << fileText(followed);
    // The same events from the history, filtered by type, and in aismi health.
    auto listed = stack.aismi({"events", "--type", "auto-reset,reset", "-j"});
    ASSERT_EQ(listed.exitCode, 0) << listed.err;
    auto doc = parseJson(listed.out);
    ASSERT_TRUE(doc) << listed.out;
    ASSERT_EQ(doc->array().size(), 2u) << listed.out;
    EXPECT_EQ((*doc)[0]["type"].str(), "auto-reset");
    EXPECT_EQ((*doc)[1]["type"].str(), "reset");
    EXPECT_NE((*doc)[1]["message"].str().find("function-level reset in "), std::string::npos);
    auto health = stack.aismi({"health", "-i", "0", "-j"});
    ASSERT_EQ(health.exitCode, 0) << health.err;
    auto h = parseJson(health.out);
    ASSERT_TRUE(h) << health.out;
    const Json& card = (*h)[0];
    EXPECT_LT(card["data_age_s"].num(), 5.0);
    EXPECT_EQ(card["vfs"][1]["guard_resets_left"].num(), 2) << "one of the guard's three automatic resets used";
    EXPECT_EQ(card["vfs"][0]["guard_resets_left"].num(), 3);
    EXPECT_EQ(card["recent_resets"].array().size(), 2u) << health.out;
    auto text = stack.aismi({"health", "-i", "0"});
    EXPECT_NE(text.out.find("VF 1  0000:3b:00.5"), std::string::npos) << text.out;
    EXPECT_EQ(card["vfs"][1]["recommended_action"].str(), "none");
    EXPECT_NE(text.out.find("automatic resets left: 2 of 3"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("hung: resetting it automatically (1 of 3"), std::string::npos) << text.out;
    auto report = stack.aismi({"-q", "-i", "0", "-d", "RECOVERY"});
    ASSERT_EQ(report.exitCode, 0) << report.err;
    const size_t vf1 = report.out.find("VF 0:1");
    ASSERT_NE(vf1, std::string::npos) << report.out;
    const std::string section = report.out.substr(vf1, report.out.find("VF 0:2") - vf1);
    EXPECT_NE(section.find("Reset Count                   : 1"), std::string::npos) << section;
    EXPECT_NE(section.find("Guard Budget Left             : 2 of 3"), std::string::npos) << section;
    EXPECT_EQ(section.find("Last Reset                    : None"), std::string::npos) << "the reset is in the history: " << section;
    EXPECT_NE(section.find("Recommended Action            : none"), std::string::npos) << section;
    EXPECT_NE(report.out.find("Automatic Resets                  : On, at most 3 per VF in 600 s, then quarantine"), std::string::npos) << report.out;
    // aismid going away ends --follow with an error, not silence.
    stack.stopDaemon();
    for (int i = 0; i < 100 && follower.running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(follower.running());
    EXPECT_NE(fileText(stack.path("follow.err")).find("aismid left the bus"), std::string::npos) << fileText(stack.path("follow.err"));
}

TEST(Health, AReadingThatDoesNotComeInTimeIsUnknownNeverOk) {
    Stack stack;
    // FLRs that time out after 2 s (200 s x aismid's time factor 0.01): a reset holds the
    // card's reads up that long, more than three 200 ms poll intervals.
    std::filesystem::create_directories(stack.stateDir());
    auto created = stack.sim({"create", "--cards", "1", "--vfs", "4", "--flr-timeout-ms", "200000"});
    ASSERT_EQ(created.exitCode, 0) << created.err;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForCardField("health", "ok"));
    ASSERT_EQ(stack.sim({"inject", "0:1", "flr-timeout"}).exitCode, 0);
    Process reset = stack.spawnAismi({"vf", "reset", "0:1"}, std::nullopt, "reset");
    ASSERT_TRUE(stack.waitForCardField("health", "unknown")) << stack.daemonLog();
    auto health = stack.aismi({"health", "-i", "0"});
    EXPECT_NE(health.out.find("no fresh reading for more than 600 ms (3 poll intervals): a read is still under way"), std::string::npos)
        << health.out;
    EXPECT_EQ(stack.aismi({"-i", "0", "--query-vf=health", "--format=csv,noheader"}).out, "unknown\nunknown\n");
    // The reset times out; fresh readings end the unknown.
    ASSERT_TRUE(waitForText(stack.path("reset.err"), "timed out")) << fileText(stack.path("reset.err"));
    EXPECT_TRUE(stack.waitForCardField("health", "warning")) << "VF 1 stopped by the failed reset: " << stack.daemonLog();
    auto events = stack.aismi({"events", "--type", "health"});
    EXPECT_NE(events.out.find("health unknown: no fresh reading"), std::string::npos) << events.out;
}

TEST(Events, BadFiltersAreRefusedWithAReason) {
    Stack stack;
    stack.startDaemon();
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"events", "--since", "soon"}, "--since: 'soon' is not a time this understands"},
        {{"events", "--since", "2026-02-31"}, "is not a date on the calendar"},
        {{"events", "--type", "bogus"}, "no event type 'bogus' (there are: daemon,"},
        {{"events", "--type", ","}, "--type needs at least one event type"},
        {{"events", "--lines", "100001"}, "--lines takes a whole number from 1 to 100000"},
        {{"events", "-i", "7"}, "no card '7'"},
        {{"events", "-i", "0:1"}, "events -i takes cards"},
        {{"events", "--count", "3"}, "--count does not go with 'events'"},
        {{"health", "--follow"}, "-f/--follow does not go with 'health'"},
        {{"health", "now"}, "unknown command 'health now'"},
    };
    for (const auto& [args, why] : bad) {
        auto r = stack.aismi(args);
        EXPECT_NE(r.exitCode, 0) << why;
        EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    }
    auto none = stack.aismi({"events", "--since", "@4000000000", "-j"});
    EXPECT_EQ(none.exitCode, 0) << none.err;
    EXPECT_EQ(none.out, "[]\n") << "nothing after 2096: an empty array";
}

// A setting set again to what it is already changes nothing, and says nothing (issue 26).
TEST(Events, SettingTheSameValueAgainIsNotAnotherEvent) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    const auto count = [&](const std::string& type) {
        const std::string out = stack.aismi({"events", "--type", type}).out;
        size_t n = 0;
        for (size_t at = 0; (at = out.find('\n', at)) != std::string::npos; ++at) ++n;
        return n;
    };
    for (int twice = 0; twice < 2; ++twice) {
        ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "2"}).exitCode, 0);
        ASSERT_EQ(stack.aismi({"policy", "set", "-i", "0", "--compute-oversubscription", "2"}).exitCode, 0);
        ASSERT_EQ(stack.aismi({"policy", "set", "--auto-reset", "no"}).exitCode, 0);
    }
    EXPECT_EQ(count("quota"), 1u) << stack.aismi({"events", "--type", "quota"}).out;
    EXPECT_EQ(count("policy"), 2u) << "one for the card's oversubscription, one for the recovery policy: " << stack.aismi({"events", "--type", "policy"}).out;
    ASSERT_EQ(stack.aismi({"quota", "set", "acme", "--max-vfs", "3"}).exitCode, 0);
    EXPECT_EQ(count("quota"), 2u) << "a change is an event";
}
