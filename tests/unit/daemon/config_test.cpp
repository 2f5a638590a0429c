// aismid's configuration: the command line, the config file, and clear errors for bad values.
#include "daemon_config.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>

using namespace aismi;

TEST(DaemonConfig, ReadsTheCommandLine) {
    auto p = parseDaemonConfig({"--backend=sim", "--sim-cards=3", "--sim-vfs=64", "--poll-interval=250", "--state-dir=/x",
                                "--config=/dev/null", "--match=a15e:0100", "--match=8086:1572"});
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->config.backend, DaemonConfig::Backend::Sim);
    EXPECT_EQ(p->config.sim.cards, 3u);
    EXPECT_EQ(p->config.sim.totalVfs, 64u);
    EXPECT_EQ(p->config.pollIntervalMs, 250u);
    EXPECT_EQ(p->config.simDir, "/x/sim");
    EXPECT_EQ(p->config.matches.size(), 2u);
    EXPECT_FALSE(p->config.sim.timeFactor.has_value());
}

TEST(DaemonConfig, ReadsAConfigFileAndLetsTheCommandLineWin) {
    aismi::test::TempDir tmp;
    std::ofstream(tmp / "aismid.conf") << "# comment\nbackend = sim\npoll-interval = 500\nsim-time-factor = 0.5\nmatch = 1234:5678\n";
    auto p = parseDaemonConfig({"--config=" + (tmp / "aismid.conf"), "--poll-interval=2000"});
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->config.backend, DaemonConfig::Backend::Sim);
    EXPECT_EQ(p->config.pollIntervalMs, 2000u);
    EXPECT_EQ(p->config.sim.timeFactor.value_or(0), 0.5);
    EXPECT_EQ(p->config.matches.at(0), (DeviceMatch{0x1234, 0x5678}));
}

TEST(DaemonConfig, NamesTheBadSettingAndItsSource) {
    aismi::test::TempDir tmp;
    std::ofstream(tmp / "bad.conf") << "colour = blue\n";
    auto p = parseDaemonConfig({"--config=" + (tmp / "bad.conf")});
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::ConfigInvalid);
    EXPECT_NE(p.error().message.find("bad.conf"), std::string::npos) << p.error().message;
    EXPECT_NE(p.error().message.find("colour"), std::string::npos);
    for (std::vector<std::string> bad : {std::vector<std::string>{"--sim-vfs=300"}, {"--poll-interval=abc"}, {"--sim-time-factor=-1"},
                                         {"--backend=gpu"}, {"--state-dir="}, {"--events-keep=5"}, {"--events-max-age-days=0"}}) {
        bad.push_back("--config=/dev/null");
        EXPECT_FALSE(parseDaemonConfig(bad).ok()) << bad[0];
    }
}

TEST(DaemonConfig, AnswersHelpAndVersion) {
    auto p = parseDaemonConfig({"--help"});
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->exitNow);
    for (const char* opt : {"--backend", "--match", "--sysfs-root", "--sim-cards", "--sim-vfs", "--sim-dir", "--sim-time-factor",
                            "--state-dir", "--poll-interval", "--config"})
        EXPECT_NE(p->output.find(opt), std::string::npos) << opt;
}


TEST(DaemonConfig, RefusesNegativeAndOverlongNumbersInsteadOfWrappingThem) {
    for (const char* bad : {"--poll-interval=-4294966296", "--poll-interval=-1", "--sim-cards=99999999999", "--sim-vfs=1e3", "--events-keep=-5"}) {
        auto p = parseDaemonConfig({bad, "--config=/dev/null"});
        ASSERT_FALSE(p.ok()) << bad;
        EXPECT_EQ(p.error().code, Errc::ConfigInvalid) << bad;
    }
}

TEST(DaemonConfig, RefusesADirectoryAsTheConfigFile) {
    aismi::test::TempDir tmp;
    auto p = parseDaemonConfig({"--config=" + tmp.path()});
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message.find("not a regular file"), std::string::npos) << p.error().message;
}

TEST(DaemonConfig, LooksForProfilesBesideTheConfigFile) {
    aismi::test::TempDir tmp;
    std::ofstream(tmp / "aismid.conf") << "backend = sim\n";
    auto p = parseDaemonConfig({"--config=" + (tmp / "aismid.conf")});
    ASSERT_TRUE(p.ok()) << p.error().message;
    EXPECT_EQ(p->config.profilesDir, tmp / "profiles.d") << "an install under any prefix finds its own";
    p = parseDaemonConfig({"--config=" + (tmp / "aismid.conf"), "--profiles-dir=/srv/profiles"});
    EXPECT_EQ(p->config.profilesDir, "/srv/profiles");
    EXPECT_EQ(parseDaemonConfig({"--config=/dev/null", "--profiles-dir="}).error().code, Errc::ConfigInvalid);
}

TEST(DaemonConfig, ReadsHealthThresholdsAndRefusesThemOutOfRange) {
    aismi::test::TempDir tmp;
    std::ofstream(tmp / "aismid.conf") << "health-temperature-margin = 5\nhealth-ecc-correctable-per-hour = 20\nhealth-link-degraded = ignore\n"
                                          "health-stale-polls = 5\nhang-polls = 10\nevents-repeat-window = 0\n";
    auto p = parseDaemonConfig({"--config=" + (tmp / "aismid.conf"), "--health-aer-nonfatal-per-hour=2"});
    ASSERT_TRUE(p.ok()) << p.error().message;
    const auto& h = p->config.health;
    EXPECT_EQ(h.temperatureMarginC, 5u);
    EXPECT_EQ(h.temperatureWarningC, 85u) << "the default";
    EXPECT_EQ(h.eccCorrectablePerHour, 20u);
    EXPECT_EQ(h.aerNonfatalPerHour, 2u);
    EXPECT_FALSE(h.warnDegradedLink);
    EXPECT_EQ(h.stalePolls, 5u);
    EXPECT_EQ(h.hangPolls, 10u);
    EXPECT_EQ(p->config.eventsRepeatWindowS, 0u);
    EXPECT_FALSE(p->config.autoCardReset) << "escalation is off unless asked for";
    auto escalate = parseDaemonConfig({"--auto-card-reset=yes", "--card-reset-budget=2/900", "--config=/dev/null"});
    ASSERT_TRUE(escalate.ok()) << escalate.error().message;
    EXPECT_TRUE(escalate->config.autoCardReset);
    EXPECT_EQ(escalate->config.cardResetBudget, 2u);
    EXPECT_EQ(escalate->config.cardResetWindowS, 900u);
    const std::pair<const char*, const char*> bad[] = {
        {"--health-temperature-margin=101", "--health-temperature-margin must be 0 to 100, not 101"},
        {"--health-temperature-warning=0", "--health-temperature-warning must be 1 to 200"},
        {"--health-stale-polls=0", "--health-stale-polls must be 1 to 100"},
        {"--hang-polls=1001", "--hang-polls must be 1 to 1000"},
        {"--health-link-degraded=maybe", "--health-link-degraded takes warn or ignore, not 'maybe'"},
        {"--health-ecc-correctable-per-hour=-1", "--health-ecc-correctable-per-hour takes a whole number"},
        {"--events-repeat-window=86401", "--events-repeat-window must be 0 to 86400"},
        {"--auto-card-reset=maybe", "--auto-card-reset takes yes or no (or true or false), not 'maybe'"},
        {"--card-reset-budget=0/60", "--card-reset-budget takes N/SECONDS (N 1 to 100, SECONDS 1 to 604800, e.g. 1/3600), not '0/60'"},
        {"--card-reset-budget=2", "--card-reset-budget takes N/SECONDS"},
    };
    for (const auto& [arg, why] : bad) {
        auto r = parseDaemonConfig({arg, "--config=/dev/null"});
        ASSERT_FALSE(r.ok()) << arg;
        EXPECT_NE(r.error().message.find(why), std::string::npos) << r.error().message;
    }
}

TEST(DaemonConfig, ReadsTheMetricsAddressAndRefusesWhatIsNotOne) {
    const auto metrics = [](const std::string& value) { return parseDaemonConfig({"--config=/dev/null", "--metrics-address=" + value}); };
    auto d = parseDaemonConfig({"--config=/dev/null"});
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d->config.metrics.enabled);
    EXPECT_EQ(d->config.metrics.host, "127.0.0.1");
    EXPECT_EQ(d->config.metrics.port, 9400);
    EXPECT_FALSE(d->config.metrics.vfOwnerLabels);
    auto v6 = metrics("[::1]:9500");
    ASSERT_TRUE(v6.ok()) << v6.error().message;
    EXPECT_EQ(v6->config.metrics.host, "::1");
    EXPECT_EQ(v6->config.metrics.port, 9500);
    auto any = metrics("0.0.0.0:0");
    ASSERT_TRUE(any.ok());
    EXPECT_EQ(any->config.metrics.port, 0);
    auto none = metrics("none");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->config.metrics.enabled);
    for (const char* bad : {"", "9400", "localhost:9400", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:94x", "::1:9400", "[::1]9400",
                            "[127.0.0.1]:9400", "1.2.3:80", "none:80"}) {
        auto r = metrics(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, Errc::ConfigInvalid);
        EXPECT_NE(r.error().message.find("--metrics-address"), std::string::npos) << r.error().message;
    }
    auto labels = parseDaemonConfig({"--config=/dev/null", "--metrics-vf-owner-labels"});
    ASSERT_TRUE(labels.ok()) << labels.error().message;
    EXPECT_TRUE(labels->config.metrics.vfOwnerLabels);
    EXPECT_FALSE(parseDaemonConfig({"--config=/dev/null", "--metrics-vf-owner-labels=maybe"}).ok());
}

TEST(DaemonConfig, AnOptionHoldingAnErrorPlaceholderIsRefusedNotLoopedOn) {
    auto p = parseDaemonConfig({"--x%option%%original_token%", "--config=/dev/null"});
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code, Errc::ConfigInvalid);
    EXPECT_NE(p.error().message.find("x?option??original_token?"), std::string::npos) << p.error().message;
}
