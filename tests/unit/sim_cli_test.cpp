#include "sim/sim_cli.hpp"

#include "temp_dir.hpp"

#include <aismi/error.hpp>

#include <gtest/gtest.h>

#include <sstream>

using namespace aismi;

namespace {

class SimCli : public ::testing::Test {
protected:
    int run(std::vector<std::string> args) {
        out.str(""), err.str("");
        args.insert(args.begin(), {"--dir", tmp / "cards"});
        return sim::runSimCli(args, out, err);
    }
    void SetUp() override { ASSERT_EQ(run({"create", "--cards", "2", "--vfs", "4"}), 0) << err.str(); }

    aismi::test::TempDir tmp;
    std::ostringstream out, err;
};

}  // namespace

TEST_F(SimCli, ListsTheCardsItCreated) {
    ASSERT_EQ(run({"list"}), 0) << err.str();
    EXPECT_NE(out.str().find("0000:3b:00.0"), std::string::npos);
    EXPECT_NE(out.str().find("0000:3d:00.0"), std::string::npos);
    EXPECT_NE(out.str().find("0/4"), std::string::npos);
}

TEST_F(SimCli, InjectsAndClearsFaultsShownByShow) {
    ASSERT_EQ(run({"inject", "1", "thermal"}), 0) << err.str();
    ASSERT_EQ(run({"show", "1"}), 0);
    EXPECT_NE(out.str().find("thermal"), std::string::npos);
    ASSERT_EQ(run({"clear", "1"}), 0);
    ASSERT_EQ(run({"show", "1"}), 0);
    EXPECT_NE(out.str().find("faults         -"), std::string::npos) << out.str();
}

TEST_F(SimCli, NamesAnUnknownFault) {
    EXPECT_EQ(run({"inject", "0", "meltdown"}), errcInfo(Errc::InvalidArgument).exitCode);
    EXPECT_NE(err.str().find("unknown fault 'meltdown'"), std::string::npos);
}

TEST_F(SimCli, RefusesAVfThatIsNotEnabled) {
    EXPECT_EQ(run({"load", "0:1", "on"}), errcInfo(Errc::NotFound).exitCode);
    EXPECT_NE(err.str().find("VF 1 is not enabled"), std::string::npos) << err.str();
}

TEST_F(SimCli, ExplainsWhatATargetLooksLike) {
    EXPECT_NE(run({"show", "zero"}), 0);
    EXPECT_NE(err.str().find("CARD, CARD:VF or a PCI address"), std::string::npos);
    EXPECT_NE(run({"show", "7"}), 0);
    EXPECT_NE(err.str().find("there is no card 7"), std::string::npos);
    EXPECT_NE(run({"load", "0", "on"}), 0);
    EXPECT_NE(err.str().find("needs a VF"), std::string::npos);
}

TEST_F(SimCli, SaysHowToCreateCardsInAnEmptyDirectory) {
    out.str(""), err.str("");
    EXPECT_EQ(sim::runSimCli({"--dir", tmp / "nothing", "list"}, out, err), errcInfo(Errc::NotFound).exitCode);
    EXPECT_NE(err.str().find("create"), std::string::npos);
}

TEST_F(SimCli, RejectsBadCreateOptions) {
    out.str(""), err.str("");
    EXPECT_NE(sim::runSimCli({"--dir", tmp / "x", "create", "--vfs", "300"}, out, err), 0);
    EXPECT_NE(err.str().find("TotalVFs must be 1 to 256"), std::string::npos) << err.str();
    EXPECT_NE(sim::runSimCli({"--dir", tmp / "x", "create", "--cards", "many"}, out, err), 0);
    EXPECT_NE(sim::runSimCli({"--dir", tmp / "x", "create", "--colour", "red"}, out, err), 0);
    EXPECT_NE(err.str().find("unknown option '--colour'"), std::string::npos);
}

TEST_F(SimCli, ListsEveryFault) {
    ASSERT_EQ(run({"faults"}), 0);
    for (const char* f : {"vf-hang", "flr-fail", "flr-timeout", "ecc-correctable", "ecc-uncorrectable", "thermal", "link-degrade",
                          "device-lost"})
        EXPECT_NE(out.str().find(f), std::string::npos) << f;
}

TEST_F(SimCli, ArmsShowsAndThawsAFreezeAndRefusesWhatItCannotArm) {
    ASSERT_EQ(run({"freeze", "status"}), 0);
    EXPECT_EQ(out.str(), "not armed\n");
    ASSERT_EQ(run({"freeze", "after", "3"}), 0) << err.str();
    EXPECT_EQ(out.str(), "armed: after write 3\n");
    ASSERT_EQ(run({"freeze", "status"}), 0);
    EXPECT_EQ(out.str(), "armed: after write 3, 0 seen so far\n");
    for (const auto& [args, why] : std::vector<std::pair<std::vector<std::string>, std::string>>{
             {{"freeze"}, "expected: aismi-sim freeze before|after N"},
             {{"freeze", "before", "0"}, "the write must be 1 to 1000000"},
             {{"freeze", "before", "1000001"}, "the write must be 1 to 1000000"},
             {{"freeze", "after", "x"}, "'x' is not a whole number"},
             {{"freeze", "sideways", "1"}, "'sideways' is not 'before', 'after' or 'status'"},
             {{"freeze", "status", "now"}, "expected: aismi-sim freeze status"},
             {{"thaw", "all"}, "expected: aismi-sim thaw"}}) {
        EXPECT_EQ(run(args), errcInfo(Errc::InvalidArgument).exitCode) << why;
        EXPECT_NE(err.str().find(why), std::string::npos) << err.str();
    }
    ASSERT_EQ(run({"freeze", "status"}), 0);
    EXPECT_EQ(out.str(), "armed: after write 3, 0 seen so far\n") << "a refused command changes nothing";
    ASSERT_EQ(run({"thaw"}), 0);
    ASSERT_EQ(run({"freeze", "status"}), 0);
    EXPECT_EQ(out.str(), "not armed\n");
}
