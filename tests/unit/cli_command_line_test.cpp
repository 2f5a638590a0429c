#include "command_line.hpp"
#include "commands/dmon.hpp"
#include "commands/firmware.hpp"
#include "commands/query.hpp"
#include "commands/vf.hpp"

#include <gtest/gtest.h>

using namespace aismi;
using namespace aismi::cli;

TEST(CliCommandLine, ShowsTheSummaryWithoutArguments) {
    auto r = parseCli({});
    ASSERT_TRUE(r.ok());
    ASSERT_NE(r->as<SummaryRequest>(), nullptr);
    EXPECT_TRUE(r->as<SummaryRequest>()->ids.empty());
    EXPECT_TRUE(r->readsOnce);
}

TEST(CliCommandLine, ParsesCardSelectionAndLoop) {
    auto r = parseCli({"-i", "0, 3d:00.0,AIS1", "-l", "5"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_NE(r->as<SummaryRequest>(), nullptr);
    EXPECT_EQ(r->as<SummaryRequest>()->ids, (std::vector<std::string>{"0", "3d:00.0", "AIS1"}));
    EXPECT_EQ(r->as<SummaryRequest>()->loopSeconds, 5u);
    EXPECT_FALSE(r->readsOnce) << "-l repeats";
    EXPECT_FALSE(parseCli({"-l", "0"}).ok());
}

TEST(CliCommandLine, ParsesQueriesWithTheirFormat) {
    auto r = parseCli({"--query-card=index,memory.used", "--format=csv,noheader,nounits"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto* q = r->as<FieldQueryRequest>();
    ASSERT_NE(q, nullptr);
    EXPECT_FALSE(q->vfs);
    ASSERT_EQ(q->fields.size(), 2u);
    EXPECT_EQ(q->fields[1]->property, "MemoryUsedMiB");
    EXPECT_FALSE(q->csv.header);
    EXPECT_FALSE(q->csv.units);
    EXPECT_EQ(r->output, Output::Csv);
    EXPECT_FALSE(r->csvHeader);
    r = parseCli({"--query-vf=card,state", "-j"});
    ASSERT_TRUE(r.ok());
    ASSERT_NE(r->as<FieldQueryRequest>(), nullptr);
    EXPECT_TRUE(r->as<FieldQueryRequest>()->vfs);
    EXPECT_TRUE(r->as<FieldQueryRequest>()->json);
    EXPECT_EQ(r->output, Output::Json);
}

TEST(CliCommandLine, NamesWhatIsWrong) {
    const auto message = [](std::vector<std::string> args) {
        auto r = parseCli(args);
        EXPECT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, Errc::InvalidArgument);
        return r.ok() ? std::string() : r.error().message;
    };
    EXPECT_NE(message({"--query-card=index,bogus", "--format=csv"}).find("unknown card field 'bogus'"), std::string::npos);
    EXPECT_NE(message({"--query-vf=temperature", "--format=csv"}).find("unknown vf field 'temperature'"), std::string::npos);
    EXPECT_NE(message({"--query-card=index", "--format=xml"}).find("unknown --format word 'xml'"), std::string::npos);
    EXPECT_NE(message({"--query-card=index"}).find("--format=csv or -j"), std::string::npos);
    EXPECT_NE(message({"-q", "--query-card=index"}).find("only one of"), std::string::npos);
    EXPECT_NE(message({"-d", "ECC"}).find("-d/--display goes with -q"), std::string::npos);
    EXPECT_NE(message({"--wat"}).find("wat"), std::string::npos);
    EXPECT_NE(message({"-i"}).find("-i"), std::string::npos);
}

TEST(CliCommandLine, ParsesReportSectionsCaseInsensitively) {
    auto r = parseCli({"-q", "-d", "memory,Ecc,vf"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_NE(r->as<ReportRequest>(), nullptr);
    EXPECT_EQ(r->as<ReportRequest>()->sections, (std::vector<std::string>{"MEMORY", "ECC", "SRIOV"}));
}

TEST(CliCommandLine, ParsesVfCommands) {
    auto r = parseCli({"vf", "enable", "-i", "0", "--count", "4"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->name, "vf enable");
    ASSERT_NE(r->as<VfCountRequest>(), nullptr);
    EXPECT_EQ(r->as<VfCountRequest>()->count, 4u);
    EXPECT_FALSE(r->readsOnce);
    auto disable = parseCli({"vf", "disable", "-i", "0"});
    ASSERT_TRUE(disable.ok());
    EXPECT_EQ(disable->name, "vf disable");
    ASSERT_NE(disable->as<VfCountRequest>(), nullptr);
    EXPECT_EQ(disable->as<VfCountRequest>()->count, 0u);
    EXPECT_NE(parseCli({"vf", "list"})->as<VfListRequest>(), nullptr);
    auto assign = parseCli({"vf", "assign", "0:3", "--domain", "vm1", "--tenant", "acme"});
    ASSERT_TRUE(assign.ok()) << assign.error().message;
    ASSERT_NE(assign->as<VfAssignRequest>(), nullptr);
    EXPECT_EQ(assign->as<VfAssignRequest>()->vf, "0:3");
    EXPECT_EQ(assign->as<VfAssignRequest>()->domain, "vm1");
    EXPECT_EQ(assign->as<VfAssignRequest>()->tenant, "acme");
    EXPECT_FALSE(parseCli({"vf", "enable", "-i", "0", "--count", "0"}).ok()) << "use disable for 0";
    EXPECT_FALSE(parseCli({"vf", "enable", "--count", "2"}).ok()) << "needs a card";
    EXPECT_FALSE(parseCli({"vf", "enable", "-i", "0,1", "--count", "2"}).ok()) << "one card at a time";
    EXPECT_FALSE(parseCli({"vf", "explode"}).ok());
    EXPECT_FALSE(parseCli({"vf"}).ok());
}

TEST(CliCommandLine, TakesOptionsBeforeOrAfterTheCommand) {
    auto r = parseCli({"-i", "0", "vf", "disable"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->name, "vf disable");
    EXPECT_EQ(r->as<VfCountRequest>()->card, "0");
    r = parseCli({"--count=3", "vf", "-i", "0", "enable"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->name, "vf enable");
    EXPECT_EQ(r->as<VfCountRequest>()->count, 3u);
}

TEST(CliCommandLine, RefusesEveryWordItDoesNotUnderstand) {
    for (std::vector<std::string> args : {std::vector<std::string>{"vff", "list"}, {"topo"}, {"foo"}, {"vf", "list", "foo"},
                                          {"-l", "1", "vf", "list"}, {"vf", "enable", "-i", "0", "--count", "2", "-j"}, {"--count=2"}}) {
        auto r = parseCli(args);
        ASSERT_FALSE(r.ok()) << args[0];
        EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    }
    EXPECT_NE(parseCli({"vff", "list"}).error().message.find("unknown command 'vff'"), std::string::npos);
    EXPECT_NE(parseCli({"vf", "list", "foo"}).error().message.find("'vf list foo'"), std::string::npos);
    EXPECT_NE(parseCli({"vf", "bogus"}).error().message.find("aismi vf --help"), std::string::npos);
}

TEST(CliCommandLine, RefusesNegativeAndOutOfRangeNumbers) {
    for (std::vector<std::string> args : {std::vector<std::string>{"vf", "enable", "-i", "0", "--count=-1"},
                                          {"vf", "enable", "-i", "0", "--count=4294967295"}, {"-l", "-1"}, {"--loop=-1"},
                                          {"--loop=99999999"}, {"--loop=1e3"}}) {
        auto r = parseCli(args);
        ASSERT_FALSE(r.ok()) << args.back();
        EXPECT_EQ(r.error().code, Errc::InvalidArgument) << args.back();
    }
}

TEST(CliCommandLine, GivesOneHintPerError) {
    const std::string m = parseCli({"--query-card=bogus", "--format=csv"}).error().message;
    EXPECT_NE(m.find("aismi --help-query-card lists them"), std::string::npos) << m;
    EXPECT_EQ(m.find("aismi --help lists"), std::string::npos) << m;
}

TEST(CliCommandLine, CallsAMalformedAddressMalformed) {
    auto r = parseCli({"-i", "0000:zz:00.0"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_TRUE(parseCli({"-i", "00000000:3B:00.0"}).ok());
    EXPECT_NE(parseCli({"-L"})->as<ListCardsRequest>(), nullptr);
}

TEST(CliCommandLine, TakesHostsAsSshDoesAndNothingSshCouldReadAsAnOption) {
    auto r = parseCli({"-H", "root@gpu1:2222", "--query-card=index", "--format=csv", "-H", "[::1]:22", "--host=gpu2.example.com", "-H", "gpu2.example.com"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->hosts, (std::vector<std::string>{"root@gpu1:2222", "[::1]:22", "gpu2.example.com"})) << "a host named twice is asked once";
    auto change = parseCli({"vf", "enable", "-i", "0", "--count", "2", "-H", "gpu1"});
    ASSERT_TRUE(change.ok()) << "one host takes any command";
    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"-H", ""}, {"-H", "-oProxyCommand=x"}, {"-H", "gpu 1"}, {"-H", "gpu1;reboot"}, {"-H", "gpu1:"}, {"-H", "gpu1:0"}, {"-H", "gpu1:70000"},
             {"-H", "::1"}, {"-H", "[::1"}, {"-H", "[::1]x"}, {"-H", "a@"}, {"-H", "a@b@c"},
             {"-H", "a", "-H", "b", "vf", "reset", "0:1"}, {"-H", "a", "-H", "b", "events", "-f"}, {"-H", "a", "-H", "b", "-l", "2"},
             {"-H", "a", "-H", "b", "dmon"}}) {
        auto p = parseCli(bad);
        EXPECT_FALSE(p.ok()) << bad[1];
        if (!p.ok()) {
            EXPECT_EQ(p.error().code, Errc::InvalidArgument);
        }
    }
}

TEST(CliCommandLine, ParsesDmonLikeNvidiaSmi) {
    auto d = parseCli({"dmon"});
    ASSERT_TRUE(d.ok()) << d.error().message;
    const auto* dmon = d->as<DmonRequest>();
    ASSERT_NE(dmon, nullptr);
    EXPECT_EQ(dmon->groups, "pumev");
    EXPECT_EQ(dmon->count, 0u);
    EXPECT_EQ(dmon->delaySeconds, 1u);
    EXPECT_FALSE(d->readsOnce) << "dmon streams";
    auto r = parseCli({"dmon", "-s", "vup", "-c", "5", "-d", "2", "--vf", "-i", "0,1", "-j"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    dmon = r->as<DmonRequest>();
    ASSERT_NE(dmon, nullptr);
    EXPECT_EQ(dmon->groups, "vup");
    EXPECT_EQ(dmon->count, 5u);
    EXPECT_EQ(dmon->delaySeconds, 2u);
    EXPECT_TRUE(dmon->vfs);
    EXPECT_TRUE(dmon->json);
    EXPECT_EQ(parseCli({"dmon", "--delay", "3"})->as<DmonRequest>()->delaySeconds, 3u);
    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"dmon", "-s", ""}, {"dmon", "-s", "px"}, {"dmon", "-c", "0"}, {"dmon", "-c", "-1"}, {"dmon", "-d", "0"}, {"dmon", "-d", "1", "--delay", "1"},
             {"dmon", "-i", "0:1"}, {"dmon", "--force"}, {"dmon", "now"}}) {
        EXPECT_FALSE(parseCli(bad).ok()) << bad.back();
    }
}

TEST(CliCommandLine, AnOptionHoldingAnErrorPlaceholderIsRefusedNotLoopedOn) {
    // Boost 1.74 replaced %original_token% with the token itself until none was left: forever.
    auto r = parseCli({"--qu%original_token%", "--f=csv"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("'--qu?original_token?'"), std::string::npos) << r.error().message;
}

TEST(CliCommandLine, ParsesFirmwareCommandsAndRefusesWhatTheyDoNotTake) {
    auto r = parseCli({"firmware", "update", "fw.img", "-i", "0", "--activate=never", "--allow-older", "--quiet"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto* update = r->as<FirmwareUpdateRequest>();
    ASSERT_NE(update, nullptr);
    EXPECT_EQ(update->card, "0");
    EXPECT_EQ(update->image, "fw.img");
    EXPECT_EQ(update->activate, "never");
    EXPECT_TRUE(update->allowOlder);
    EXPECT_TRUE(update->quiet);
    r = parseCli({"-i", "0", "firmware", "rollback", "--force"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto* rollback = r->as<FirmwareActivateRequest>();
    ASSERT_NE(rollback, nullptr);
    EXPECT_TRUE(rollback->rollback);
    EXPECT_TRUE(rollback->force);
    r = parseCli({"firmware", "show", "-j"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->name, "firmware show");
    EXPECT_TRUE(r->readsOnce) << "show may go to several hosts";
    auto remote = parseCli({"firmware", "update", "-i", "0", "fw.img", "-H", "gpu1"});
    ASSERT_FALSE(remote.ok());
    EXPECT_NE(remote.error().message.find("goes to the local aismid only"), std::string::npos) << remote.error().message;
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"firmware", "update", "-i", "0"}, "needs one IMAGE"},
        {{"firmware", "update", "-i", "0", "a", "b"}, "takes one IMAGE file, not 2 words ('a b')"},
        {{"firmware", "update", "fw.img"}, "needs exactly one card"},
        {{"firmware", "update", "-i", "0,1", "fw.img"}, "needs exactly one card"},
        {{"firmware", "update", "-i", "0:1", "fw.img"}, "takes a card"},
        {{"firmware", "update", "-i", "0", "fw.img", "--activate=soon"}, "--activate takes now, idle or never"},
        {{"firmware", "show", "--force"}, "--force does not go with 'firmware show'"},
        {{"firmware", "jobs", "-i", "0:1"}, "takes cards"},
        {{"firmware", "flash"}, "unknown command"},
        {{"firmware"}, "needs show, update"},
        {{"firmware", "pack"}, "unknown command"},
    };
    for (const auto& [args, words] : bad) {
        auto e = parseCli(args);
        ASSERT_FALSE(e.ok()) << words;
        EXPECT_EQ(e.error().code, Errc::InvalidArgument);
        EXPECT_NE(e.error().message.find(words), std::string::npos) << e.error().message;
    }
}

TEST(CliCommandLine, RefusesWhatItWouldOtherwiseIgnoreAndNamesTheStrayWord) {
    const std::pair<std::vector<std::string>, std::string> bad[] = {
        {{"--version", "-q"}, "--version goes alone, not with --query"},
        {{"--help-query-card", "-j"}, "--help-query-card goes alone, not with --json"},
        {{"--query-card=index", "--format=csv", "-j"}, "use one of --format=csv and -j"},
        {{"-q", "-d", ""}, "-d needs at least one section"},
        {{"reset", "1"}, "'aismi reset' takes no words after it, not '1'"},
        {{"vf", "enable", "-i", "0", "-c", "2", "extra"}, "'aismi vf enable' takes no words after it, not 'extra'"},
        {{"vf", "bind", "0:3", "vfio-pci"}, "vf bind takes one VF, not 2 words ('0:3 vfio-pci')"},
        {{"quota", "show", "a", "b"}, "quota show takes one tenant name, not 2 words"},
        {{"partition", "apply", "-i", "0", "1xhalf,", "2xeighth"}, "partition apply takes one LAYOUT"},
        {{"-i", "\x1b[2J"}, "the value of '-i' holds a control character"},
        {{"vf", "reset", "--force", "0:1\a"}, "word 4 ('0:1?') holds a control character"},
        {{"vf", "quarantine", "0:1", "--", "\x1b]0;x"}, "word 5"},
    };
    for (const auto& [args, words] : bad) {
        auto e = parseCli(args);
        ASSERT_FALSE(e.ok()) << words;
        EXPECT_EQ(e.error().code, Errc::InvalidArgument);
        EXPECT_NE(e.error().message.find(words), std::string::npos) << e.error().message;
    }
    EXPECT_TRUE(parseCli({"--version", "-H", "gpu1"}).ok()) << "-H goes with --version";
    EXPECT_TRUE(parseCli({"partition", "apply", "-i", "0", "1xhalf, 2xeighth"}).ok()) << "aismid reads blanks between items";
}
