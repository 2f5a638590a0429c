#include "options.hpp"

#include <gtest/gtest.h>

using namespace aismi;
using namespace aismi::cli;
using Mode = CliRequest::Mode;

TEST(CliOptions, ShowsTheSummaryWithoutArguments) {
    auto r = parseCli({});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->mode, Mode::Summary);
    EXPECT_TRUE(r->ids.empty());
}

TEST(CliOptions, ParsesCardSelectionAndLoop) {
    auto r = parseCli({"-i", "0, 3d:00.0,AIS1", "-l", "5"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->ids, (std::vector<std::string>{"0", "3d:00.0", "AIS1"}));
    EXPECT_EQ(r->loopSeconds, 5u);
    EXPECT_FALSE(parseCli({"-l", "0"}).ok());
}

TEST(CliOptions, ParsesQueriesWithTheirFormat) {
    auto r = parseCli({"--query-card=index,memory.used", "--format=csv,noheader,nounits"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->mode, Mode::QueryCard);
    ASSERT_EQ(r->fields.size(), 2u);
    EXPECT_EQ(r->fields[1]->property, "MemoryUsedMiB");
    EXPECT_FALSE(r->csv.header);
    EXPECT_FALSE(r->csv.units);
    r = parseCli({"--query-vf=card,state", "-j"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->mode, Mode::QueryVf);
    EXPECT_TRUE(r->json);
}

TEST(CliOptions, NamesWhatIsWrong) {
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

TEST(CliOptions, ParsesReportSectionsCaseInsensitively) {
    auto r = parseCli({"-q", "-d", "memory,Ecc,vf"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->sections, (std::vector<std::string>{"MEMORY", "ECC", "SRIOV"}));
}

TEST(CliOptions, ParsesVfCommands) {
    auto r = parseCli({"vf", "enable", "-i", "0", "--count", "4"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->mode, Mode::VfEnable);
    EXPECT_EQ(r->count, 4u);
    EXPECT_EQ(parseCli({"vf", "disable", "-i", "0"})->mode, Mode::VfDisable);
    EXPECT_EQ(parseCli({"vf", "list"})->mode, Mode::VfList);
    EXPECT_FALSE(parseCli({"vf", "enable", "-i", "0", "--count", "0"}).ok()) << "use disable for 0";
    EXPECT_FALSE(parseCli({"vf", "enable", "--count", "2"}).ok()) << "needs a card";
    EXPECT_FALSE(parseCli({"vf", "enable", "-i", "0,1", "--count", "2"}).ok()) << "one card at a time";
    EXPECT_FALSE(parseCli({"vf", "explode"}).ok());
    EXPECT_FALSE(parseCli({"vf"}).ok());
}

TEST(CliOptions, TakesOptionsBeforeOrAfterTheCommand) {
    auto r = parseCli({"-i", "0", "vf", "disable"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->mode, Mode::VfDisable);
    EXPECT_EQ(r->ids, std::vector<std::string>{"0"});
    r = parseCli({"--count=3", "vf", "-i", "0", "enable"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->mode, Mode::VfEnable);
    EXPECT_EQ(r->count, 3u);
}

TEST(CliOptions, RefusesEveryWordItDoesNotUnderstand) {
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

TEST(CliOptions, RefusesNegativeAndOutOfRangeNumbers) {
    for (std::vector<std::string> args : {std::vector<std::string>{"vf", "enable", "-i", "0", "--count=-1"},
                                          {"vf", "enable", "-i", "0", "--count=4294967295"}, {"-l", "-1"}, {"--loop=-1"},
                                          {"--loop=99999999"}, {"--loop=1e3"}}) {
        auto r = parseCli(args);
        ASSERT_FALSE(r.ok()) << args.back();
        EXPECT_EQ(r.error().code, Errc::InvalidArgument) << args.back();
    }
}

TEST(CliOptions, GivesOneHintPerError) {
    const std::string m = parseCli({"--query-card=bogus", "--format=csv"}).error().message;
    EXPECT_NE(m.find("aismi --help-query-card lists them"), std::string::npos) << m;
    EXPECT_EQ(m.find("aismi --help lists"), std::string::npos) << m;
}

TEST(CliOptions, CallsAMalformedAddressMalformed) {
    auto r = parseCli({"-i", "0000:zz:00.0"});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::InvalidArgument);
    EXPECT_TRUE(parseCli({"-i", "00000000:3B:00.0"}).ok());
    EXPECT_EQ(parseCli({"-L"})->mode, Mode::ListCards);
}

TEST(CliOptions, TakesHostsAsSshDoesAndNothingSshCouldReadAsAnOption) {
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

TEST(CliOptions, ParsesDmonLikeNvidiaSmi) {
    auto d = parseCli({"dmon"});
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->mode, Mode::Dmon);
    EXPECT_EQ(d->dmonGroups, "pumev");
    EXPECT_EQ(d->dmonCount, 0u);
    EXPECT_EQ(d->dmonDelaySeconds, 1u);
    auto r = parseCli({"dmon", "-s", "vup", "-c", "5", "-d", "2", "--vf", "-i", "0,1", "-j"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->dmonGroups, "vup");
    EXPECT_EQ(r->dmonCount, 5u);
    EXPECT_EQ(r->dmonDelaySeconds, 2u);
    EXPECT_TRUE(r->dmonVfs);
    EXPECT_TRUE(r->json);
    EXPECT_EQ(parseCli({"dmon", "--delay", "3"})->dmonDelaySeconds, 3u);
    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"dmon", "-s", ""}, {"dmon", "-s", "px"}, {"dmon", "-c", "0"}, {"dmon", "-c", "-1"}, {"dmon", "-d", "0"}, {"dmon", "-d", "1", "--delay", "1"},
             {"dmon", "-i", "0:1"}, {"dmon", "--force"}, {"dmon", "now"}}) {
        EXPECT_FALSE(parseCli(bad).ok()) << bad.back();
    }
}

TEST(CliOptions, AnOptionHoldingAnErrorPlaceholderIsRefusedNotLoopedOn) {
    // Boost 1.74 replaced %original_token% with the token itself until none was left: forever.
    auto r = parseCli({"--qu%original_token%", "--f=csv"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("'--qu?original_token?'"), std::string::npos) << r.error().message;
}

TEST(CliOptions, ParsesFirmwareCommandsAndRefusesWhatTheyDoNotTake) {
    auto r = parseCli({"firmware", "update", "fw.img", "-i", "0", "--activate=never", "--allow-older", "--quiet"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->mode, Mode::FirmwareUpdate);
    EXPECT_EQ(r->image, "fw.img");
    EXPECT_EQ(r->activate, "never");
    EXPECT_TRUE(r->allowOlder);
    EXPECT_TRUE(r->quiet);
    r = parseCli({"-i", "0", "firmware", "rollback", "--force"});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->mode, Mode::FirmwareRollback);
    EXPECT_TRUE(r->force);
    r = parseCli({"firmware", "show", "-j"});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->mode, Mode::FirmwareShow);
    EXPECT_TRUE(readsOnce(*r)) << "show may go to several hosts";
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
