// aismi as a user runs it, against the real aismid on simulated cards over a private bus.
#include "json_parse.hpp"
#include "stack.hpp"

#include <gtest/gtest.h>

#include <sstream>

using namespace aismi::test;

namespace {

class AismiCli : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        stack = new Stack();
        stack->startDaemon();
        ASSERT_EQ(stack->aismi({"vf", "enable", "-i", "0", "--count", "3"}).exitCode, 0);
    }
    static void TearDownTestSuite() {
        delete stack;
        stack = nullptr;
    }
    static Stack* stack;
};
Stack* AismiCli::stack = nullptr;

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

}  // namespace

TEST_F(AismiCli, SummarisesEveryCardAndEnabledVfWithin80Columns) {
    auto r = stack->aismi({});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("0000:3b:00.0"), std::string::npos);
    EXPECT_NE(r.out.find("0000:3d:00.0"), std::string::npos);
    EXPECT_NE(r.out.find("AIS24110000"), std::string::npos);
    EXPECT_NE(r.out.find("3/8"), std::string::npos) << "VFs enabled/total";
    EXPECT_NE(r.out.find("0:2      0000:3b:00.6"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("0:3 "), std::string::npos);
    for (const auto& l : lines(r.out)) EXPECT_LE(l.size(), 80u) << l;
}

TEST_F(AismiCli, PrintsTheFullReportAndOnlyTheAskedSections) {
    auto r = stack->aismi({"-q", "-i", "1"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    for (const char* s : {"Card 0000:3d:00.0", "Product Name", "Firmware", "SR-IOV", "Temperature", "Power", "Memory", "ECC Errors", "Health"})
        EXPECT_NE(r.out.find(s), std::string::npos) << s;
    EXPECT_EQ(r.out.find("Card 0000:3b:00.0"), std::string::npos) << "only the selected card";
    r = stack->aismi({"-q", "-d", "temperature,ecc"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("Temperature"), std::string::npos);
    EXPECT_NE(r.out.find("ECC Errors"), std::string::npos);
    EXPECT_EQ(r.out.find("Firmware"), std::string::npos);
}

TEST_F(AismiCli, QueriesCardFieldsAsCsv) {
    auto r = stack->aismi({"--query-card=index,pci.bus_id,serial,memory.total,vf.enabled,vf.total,health", "--format=csv"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out,
              "index, pci.bus_id, serial, memory.total [MiB], vf.enabled, vf.total, health\n"
              "0, 0000:3b:00.0, AIS24110000, 65536 MiB, 3, 8, ok\n"
              "1, 0000:3d:00.0, AIS24110001, 65536 MiB, 0, 8, ok\n");
    r = stack->aismi({"--query-card=index,memory.total", "--format=csv,noheader,nounits"});
    EXPECT_EQ(r.out, "0, 65536\n1, 65536\n");
}

TEST_F(AismiCli, QueriesVfFieldsAsCsv) {
    auto r = stack->aismi({"--query-vf=card,vf,pci.bus_id,state,health,driver", "--format=csv,noheader", "-i", "0"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out,
              "0, 0, 0000:3b:00.4, idle, ok, aismi\n"
              "0, 1, 0000:3b:00.5, idle, ok, aismi\n"
              "0, 2, 0000:3b:00.6, idle, ok, aismi\n");
    r = stack->aismi({"--query-vf=pci.bus_id", "--format=csv,noheader", "-i", "0:1,0000:3b:00.6"});
    EXPECT_EQ(r.out, "0000:3b:00.5\n0000:3b:00.6\n") << r.err;
    r = stack->aismi({"vf", "list", "-i", "0:9"});
    EXPECT_EQ(r.exitCode, 3);
    EXPECT_NE(r.err.find("no card or enabled VF '0:9'"), std::string::npos) << r.err;
}

TEST_F(AismiCli, GivesJsonThatParsesForEveryQuery) {
    auto r = stack->aismi({"-j"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::string error;
    auto doc = parseJson(r.out, &error);
    ASSERT_TRUE(doc) << error << "\n" << r.out;
    ASSERT_EQ((*doc)["cards"].array().size(), 2u);
    EXPECT_EQ((*doc)["cards"][0]["pci.bus_id"].str(), "0000:3b:00.0");
    EXPECT_EQ((*doc)["cards"][0]["vfs"].array().size(), 3u);
    EXPECT_EQ((*doc)["cards"][0]["vfs"][2]["pci.bus_id"].str(), "0000:3b:00.6");
    EXPECT_GT((*doc)["cards"][1]["temperature"].num(), 20.0);

    r = stack->aismi({"--query-card=index,serial,temperature", "-j"});
    doc = parseJson(r.out, &error);
    ASSERT_TRUE(doc) << error << "\n" << r.out;
    EXPECT_EQ((*doc)[1]["serial"].str(), "AIS24110001");
    EXPECT_EQ((*doc)[1].object().size(), 3u);

    for (std::vector<std::string> args : {std::vector<std::string>{"-q", "-j"}, {"vf", "list", "-j"}, {"--query-vf=card,vf,state", "-j"}}) {
        r = stack->aismi(args);
        EXPECT_EQ(r.exitCode, 0) << r.err;
        EXPECT_TRUE(parseJson(r.out, &error)) << args[0] << ": " << error;
    }
}

TEST_F(AismiCli, SelectsCardsByIndexAddressAndSerial) {
    for (const char* id : {"1", "0000:3d:00.0", "3d:00.0", "AIS24110001"}) {
        auto r = stack->aismi({"-i", id, "--query-card=index", "--format=csv,noheader"});
        EXPECT_EQ(r.exitCode, 0) << id << ": " << r.err;
        EXPECT_EQ(r.out, "1\n") << id;
    }
    auto r = stack->aismi({"-i", "1,0", "--query-card=index", "--format=csv,noheader"});
    EXPECT_EQ(r.out, "1\n0\n");
}

TEST_F(AismiCli, NamesAnUnknownCard) {
    auto r = stack->aismi({"-i", "7"});
    EXPECT_EQ(r.exitCode, 3);
    EXPECT_NE(r.err.find("no card '7'"), std::string::npos) << r.err;
}

TEST_F(AismiCli, NamesBadFlagsAndFields) {
    auto r = stack->aismi({"--frobnicate"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
    r = stack->aismi({"--query-card=index,flux", "--format=csv"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("unknown card field 'flux'"), std::string::npos) << r.err;
    r = stack->aismi({"--query-card=index"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_NE(r.err.find("--format"), std::string::npos);
    r = stack->aismi({"-q", "-d", "weather"});
    EXPECT_NE(r.err.find("unknown -d section 'WEATHER'"), std::string::npos) << r.err;
    r = stack->aismi({"vf", "enable", "-i", "0"});
    EXPECT_NE(r.err.find("--count"), std::string::npos) << r.err;
}

TEST_F(AismiCli, ListsEveryQueryField) {
    auto r = stack->aismi({"--help-query-card"});
    ASSERT_EQ(r.exitCode, 0);
    for (const char* f : {"\"index\"", "\"name\"", "\"pci.bus_id\"", "\"serial\"", "\"firmware.version\"", "\"temperature\"",
                          "\"power.draw\"", "\"utilization\"", "\"memory.used\"", "\"memory.total\"", "\"vf.enabled\"", "\"vf.total\"",
                          "\"health\""})
        EXPECT_NE(r.out.find(f), std::string::npos) << f;
    r = stack->aismi({"--help-query-vf"});
    for (const char* f : {"\"card\"", "\"vf\"", "\"pci.bus_id\"", "\"state\"", "\"health\""}) EXPECT_NE(r.out.find(f), std::string::npos) << f;
}

TEST_F(AismiCli, ReadsAreOpenToAnUnprivilegedUser) {
    auto r = stack->aismi({"--query-card=index", "--format=csv,noheader"}, 65534);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "0\n1\n");
}

TEST_F(AismiCli, RefusesAnUnprivilegedChangeAndChangesNothing) {
    auto r = stack->aismi({"vf", "disable", "-i", "0"}, 65534);
    EXPECT_EQ(r.exitCode, 7) << r.out << r.err;
    EXPECT_NE(r.err.find("not authorized to org.aismi.manage-vfs"), std::string::npos) << r.err;
    EXPECT_EQ(stack->aismi({"-i", "0", "--query-card=vf.enabled", "--format=csv,noheader"}).out, "3\n");
}

TEST_F(AismiCli, AppliesTheKernelsVfCountRules) {
    auto r = stack->aismi({"vf", "enable", "-i", "0", "--count", "5"});
    EXPECT_EQ(r.exitCode, 13);
    EXPECT_NE(r.err.find("disable VFs first"), std::string::npos) << r.err;
    r = stack->aismi({"vf", "enable", "-i", "1", "--count", "9"});
    EXPECT_EQ(r.exitCode, 6);
    EXPECT_NE(r.err.find("at most 8"), std::string::npos) << r.err;
}

TEST_F(AismiCli, EnablesAndDisablesVfsReadingThemBack) {
    auto r = stack->aismi({"vf", "enable", "-i", "AIS24110001", "--count", "2"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("2 of 8 VFs enabled"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("1:1      0000:3d:00.5"), std::string::npos) << r.out;
    EXPECT_NE(stack->sim({"show", "1"}).out.find("2 of 8 VFs enabled"), std::string::npos) << "the card has them";
    r = stack->aismi({"vf", "disable", "-i", "1"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_NE(r.out.find("0 of 8 VFs enabled"), std::string::npos);
    EXPECT_EQ(stack->aismi({"vf", "list", "-i", "1"}).out.find("1:0"), std::string::npos);
}

TEST_F(AismiCli, ShowsInjectedFaultsAsHealth) {
    ASSERT_EQ(stack->sim({"inject", "1", "thermal"}).exitCode, 0);
    // Idle card: 44 C; the thermal fault adds 45 C: 89 C is within 10 C of the 95 C limit.
    EXPECT_TRUE(stack->waitForCardField("health", "warning", 1));
    auto r = stack->aismi({"-q", "-i", "1", "-d", "health"});
    EXPECT_NE(r.out.find("temperature"), std::string::npos) << r.out;
    ASSERT_EQ(stack->sim({"clear", "1"}).exitCode, 0);
    EXPECT_TRUE(stack->waitForCardField("health", "ok", 1));
    EXPECT_NE(stack->daemonLog().find("card 1 (0000:3d:00.0): health warning: temperature"), std::string::npos)
        << "the change is logged: " << stack->daemonLog();
}

TEST_F(AismiCli, RepeatsWithLoop) {
    // -l runs until interrupted: give it time for two rounds, then stop it.
    auto r = run({"/usr/bin/timeout", "2.5", AISMI_PATH, "-l", "1", "--query-card=index", "--format=csv,noheader", "-i", "0"},
                 {{{"DBUS_SYSTEM_BUS_ADDRESS", stack->busAddress()}}, std::nullopt, "", ""});
    EXPECT_GE(lines(r.out).size(), 2u) << r.out;
}

TEST_F(AismiCli, WritesOneJsonDocumentPerLineWithLoop) {
    auto r = run({"/usr/bin/timeout", "2.5", AISMI_PATH, "-l", "1", "-q", "-j", "-d", "TEMPERATURE"},
                 {{{"DBUS_SYSTEM_BUS_ADDRESS", stack->busAddress()}}, std::nullopt, "", ""});
    const auto docs = lines(r.out);
    ASSERT_GE(docs.size(), 2u) << r.out;
    for (const auto& line : docs) {
        std::string error;
        auto doc = parseJson(line, &error);
        ASSERT_TRUE(doc) << error << ": " << line;
        EXPECT_NE(line.find("\"temperature\""), std::string::npos) << line;
        EXPECT_EQ(line.find("\"power.draw\""), std::string::npos) << "-d TEMPERATURE only: " << line;
    }
}

TEST_F(AismiCli, SelectsACardByItsPciAddressInEveryFormUsersWrite) {
    // Issue 26 #12, #13: uppercase, nvidia-smi's 8-digit domain and lspci's short form never
    // selected a card, and several commands refused a PCI address for -i at all.
    for (const char* id : {"0000:3b:00.0", "0000:3B:00.0", "00000000:3B:00.0", "3B:00.0", "3b:00.0"}) {
        auto q = stack->aismi({"-i", id, "--query-card=index", "--format=csv,noheader"});
        EXPECT_EQ(q.out, "0\n") << id << ": " << q.err;
        EXPECT_EQ(stack->aismi({"-L", "-i", id}).exitCode, 0) << id;
        EXPECT_EQ(stack->aismi({"-q", "-i", id}).exitCode, 0) << id;
        auto vfs = stack->aismi({"--query-vf=card,vf", "--format=csv,noheader", "-i", id});
        EXPECT_EQ(vfs.out, "0, 0\n0, 1\n0, 2\n") << id << ": " << vfs.err;
        EXPECT_EQ(stack->aismi({"vf", "list", "-i", id}).exitCode, 0) << id;
        for (const std::vector<std::string>& command :
             {std::vector<std::string>{"health"}, {"events"}, {"profile", "list"}, {"policy", "show"}, {"firmware", "show"}, {"firmware", "jobs"},
              {"dmon", "-c", "1", "-d", "1"}}) {
            std::vector<std::string> args = command;
            args.insert(args.end(), {"-i", id});
            auto r = stack->aismi(args);
            EXPECT_EQ(r.exitCode, 0) << "aismi " << command[0] << " -i " << id << ": " << r.err;
        }
    }
    // A VF by its address, in any case, and a VF's address where a card is wanted.
    EXPECT_EQ(stack->aismi({"--query-vf=vf", "--format=csv,noheader", "-i", "0000:3B:00.5"}).out, "1\n");
    auto vfForCard = stack->aismi({"health", "-i", "3b:00.5"});
    EXPECT_EQ(vfForCard.exitCode, 3);
    EXPECT_NE(vfForCard.err.find("no card '3b:00.5'"), std::string::npos) << vfForCard.err;
}

TEST_F(AismiCli, AnswersNvidiaSmiHabitsWithAismisWords) {
    // Issue 26 #17.
    const std::pair<std::vector<std::string>, std::string> habits[] = {
        {{"--query-gpu=index"}, "(did you mean --query-card?)"},
        {{"--list-gpus"}, "(did you mean -L (--list-cards)?)"},
        {{"-r"}, "(did you mean aismi reset -i ID?)"},
        {{"-q", "-x"}, "(did you mean -j (--json)?)"},
        {{"--query-card=temperature.gpu"}, "unknown card field 'temperature.gpu' (did you mean temperature?)"},
        // aismi's own words, mistyped.
        {{"vf", "enabel", "-i", "0", "--count", "2"}, "unknown command 'vf enabel' (did you mean vf enable?)"},
        {{"polcy", "show"}, "unknown command 'polcy' (did you mean policy?)"},
        {{"--query-crd=index"}, "unrecognised option '--query-crd=index' (did you mean --query-card?)"},
        {{"--query-vf=tenat", "--format=csv"}, "unknown vf field 'tenat' (did you mean tenant?)"},
        {{"-q", "--jsn"}, "(did you mean --json?)"},
        // Found by fuzz_cli_args: a bare "--" beside an unknown option made the suggestion
        // search throw out of parseCli.
        {{"ts", "--sodmo", "--"}, "unrecognised option '--sodmo'"},
    };
    for (const auto& [args, hint] : habits) {
        auto r = stack->aismi(args);
        EXPECT_EQ(r.exitCode, 2) << args[0];
        EXPECT_NE(r.err.find(hint), std::string::npos) << args[0] << ": " << r.err;
    }
    auto decimal = stack->aismi({"quota", "set", "sizes", "--max-vfs", "2", "--max-memory", "32GB"});
    EXPECT_EQ(decimal.exitCode, 2);
    EXPECT_NE(decimal.err.find("'32GB': decimal or binary? aismi's sizes are binary; write 32G or 32GiB"), std::string::npos) << decimal.err;
    for (const char* size : {"32g", "32Gi"}) {
        auto set = stack->aismi({"quota", "set", "sizes", "--max-vfs", "2", "--max-memory", size});
        EXPECT_EQ(set.exitCode, 0) << size << ": " << set.err;
        EXPECT_NE(set.out.find("0/32768"), std::string::npos) << set.out;
    }
    // 0 is a limit like any other, for memory as for VFs and compute units: the tenant may hold none.
    auto zero = stack->aismi({"quota", "set", "sizes", "--max-compute", "0", "--max-memory", "0"});
    EXPECT_EQ(zero.exitCode, 0) << zero.err;
    for (const char* spelled : {"00", "0M", "0GiB"}) EXPECT_EQ(stack->aismi({"quota", "set", "sizes", "--max-memory", spelled}).exitCode, 0) << spelled;
    EXPECT_EQ(stack->aismi({"quota", "set", "sizes", "--max-memory", "0x"}).exitCode, 2);
    EXPECT_NE(stack->aismi({"quota", "show", "-j"}).out.find("\"max_memory_mib\": 0"), std::string::npos) << stack->aismi({"quota", "show", "-j"}).out;
    EXPECT_EQ(stack->aismi({"quota", "remove", "sizes"}).exitCode, 0);
    // Help lists each command's options once, under one heading, with what each takes.
    auto quotaHelp = stack->aismi({"quota", "--help"});
    EXPECT_EQ(quotaHelp.out.find("quota options:"), std::string::npos) << quotaHelp.out;
    EXPECT_NE(quotaHelp.out.find("--max-memory SIZE"), std::string::npos) << quotaHelp.out;
    auto vfHelp = stack->aismi({"vf", "--help"});
    EXPECT_EQ(vfHelp.out.find("dmon"), std::string::npos) << "dmon's -c is dmon's: " << vfHelp.out;
    EXPECT_NE(vfHelp.out.find("-c [ --count ] N"), std::string::npos) << vfHelp.out;
    EXPECT_EQ(stack->aismi({"events", "--since", "10 minutes ago"}).exitCode, 0);
    auto policy = stack->aismi({"policy", "set", "--auto-reset", "true"});
    EXPECT_EQ(policy.exitCode, 0) << policy.err;
    EXPECT_EQ(stack->aismi({"policy", "set", "--auto-reset", "yes"}).exitCode, 0);
    // aismid's refusal reaches the user without the D-Bus method's name (issue 26 #19).
    auto type = stack->aismi({"events", "--type", "no-such-type"});
    EXPECT_EQ(type.exitCode, 2) << type.err;
    EXPECT_EQ(type.err.find("ListEvents"), std::string::npos) << type.err;
    EXPECT_NE(type.err.find("no-such-type"), std::string::npos) << type.err;
}

TEST_F(AismiCli, RefusesAFirmwareUpdateOverSshBeforeConnectingAndSaysHow) {
    // Issue 26 #15: it ended in a raw "Failed to serialize a UnixFd value", exit 10.
    auto r = stack->aismi({"-H", "root@127.0.0.1:1", "firmware", "update", "-i", "0", "/dev/null"});
    EXPECT_EQ(r.exitCode, 2) << r.err;
    EXPECT_NE(r.err.find("copy the image to the host and run 'aismi firmware update' there"), std::string::npos) << r.err;
}
