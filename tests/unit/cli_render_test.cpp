#include "command_line.hpp"
#include "commands/dmon.hpp"
#include "json.hpp"
#include "render.hpp"
#include "selection.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <sstream>

using namespace aismi::cli;

namespace {

Inventory sample() {
    Inventory inv;
    inv.manager.props = {{"Version", std::string("0.1.0")}, {"Backend", std::string("sim")}};
    BusObject card{"/org/aismi/Manager1/card0", {}};
    card.props = {{"Index", uint64_t{0}},
                  {"Name", std::string("An Accelerator With A Very Long Product Name Indeed")},
                  {"PciAddress", std::string("0000:3b:00.0")},
                  {"Serial", std::string("AIS24110000")},
                  {"FirmwareVersion", std::string("1.4.2")},
                  {"TemperatureC", 44.0},
                  {"PowerW", 61.5},
                  {"UtilizationPercent", uint64_t{37}},
                  {"MemoryUsedMiB", uint64_t{512}},
                  {"MemoryTotalMiB", uint64_t{65536}},
                  {"VfEnabled", uint64_t{256}},
                  {"VfTotal", uint64_t{256}},
                  {"Health", std::string("warning")},
                  {"HealthReasons", std::vector<std::string>{"PCIe link degraded"}},
                  {"VendorId", uint64_t{0xa15e}}};
    BusObject generic{"/org/aismi/Manager1/card1", {}};
    generic.props = {{"Index", uint64_t{1}}, {"Name", std::string("PCI device 8086:1572")}, {"PciAddress", std::string("0000:5e:00.0")},
                     {"Serial", std::string("")},  {"TemperatureC", NotAvailable{}},             {"Health", std::string("ok")}};
    inv.cards = {card, generic};
    BusObject vf{"/org/aismi/Manager1/card0/vf0", {}};
    vf.props = {{"CardIndex", uint64_t{0}}, {"Index", uint64_t{0}},         {"PciAddress", std::string("0000:3b:00.4")},
                {"State", std::string("running")}, {"Health", std::string("ok")}, {"Driver", std::string("vfio-pci")},
                {"ComputeUnits", uint64_t{32}}, {"MemoryMiB", uint64_t{16128}}, {"UtilizationPercent", uint64_t{100}}};
    inv.vfs = {vf};
    return inv;
}

std::vector<const BusObject*> all(const Inventory& inv) {
    std::vector<const BusObject*> v;
    for (const auto& c : inv.cards) v.push_back(&c);
    return v;
}

}  // namespace

TEST(CliRender, FitsTheSummaryIn80ColumnsAndAlignsIt) {
    const Inventory inv = sample();
    const std::string out = renderSummary(inv, all(inv), "Tue Nov 24 01:00:00 2026");
    std::istringstream lines(out);
    size_t boxed = 0;
    for (std::string l; std::getline(lines, l);) {
        EXPECT_LE(l.size(), 80u) << l;
        if (!l.empty() && (l[0] == '|' || l[0] == '+')) {
            EXPECT_EQ(l.size(), 80u) << "every table line is exactly 80 wide: " << l;
            ++boxed;
        }
    }
    EXPECT_GT(boxed, 8u) << out;
    EXPECT_NE(out.find("An Accelerator With A Ver~"), std::string::npos) << "long names are cut, visibly";
    EXPECT_NE(out.find("256/256"), std::string::npos) << out;
    EXPECT_NE(out.find("62W"), std::string::npos) << "61.5 W rounds in the compact table: " << out;
}

TEST(CliRender, ShowsNotReportedValuesAsNA) {
    const Inventory inv = sample();
    const std::string out = renderSummary(inv, all(inv), "now");
    EXPECT_NE(out.find("N/A"), std::string::npos);
    const Field* temp = findField(cardFields(), "temperature");
    EXPECT_EQ(formatValue(NotAvailable{}, *temp, true), "[N/A]");
    EXPECT_EQ(json::value(NotAvailable{}), "null");
}

TEST(CliRender, WritesCsvWithUnitsInTheHeaderLikeNvidiaSmi) {
    const Inventory inv = sample();
    std::vector<const Field*> fields{findField(cardFields(), "index"), findField(cardFields(), "memory.used"),
                                     findField(cardFields(), "power.draw"), findField(cardFields(), "vendor_id")};
    EXPECT_EQ(renderCsv({&inv.cards[0]}, fields, {}),
              "index, memory.used [MiB], power.draw [W], vendor_id\n0, 512 MiB, 61.50 W, 0xa15e\n");
    EXPECT_EQ(renderCsv({&inv.cards[0]}, fields, {false, false}), "0, 512, 61.50, 0xa15e\n");
}

TEST(CliRender, EscapesJsonStrings) {
    EXPECT_EQ(json::quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
    EXPECT_EQ(json::value(std::vector<std::string>{"x", "y"}), "[\"x\",\"y\"]");
}

TEST(CliRender, ReportsOnlyTheAskedSections) {
    const Inventory inv = sample();
    const std::string out = renderReport(inv, {&inv.cards[0]}, {"HEALTH"}, "now");
    EXPECT_NE(out.find("PCIe link degraded"), std::string::npos);
    EXPECT_EQ(out.find("Firmware"), std::string::npos);
    EXPECT_NE(out.find("Product Name"), std::string::npos) << "the card's identity always shows";
}

TEST(CliRender, RecommendsAnActionForEachKindOfTrouble) {
    BusObject vf{"/org/aismi/Manager1/card0/vf3", {}};
    vf.props = {{"CardIndex", uint64_t{0}}, {"Index", uint64_t{3}}, {"State", std::string("running")}, {"Health", std::string("ok")}};
    EXPECT_EQ(recommendedAction(vf, true), "none");
    vf.set("State", std::string("hung"));
    EXPECT_EQ(recommendedAction(vf, true), "none: aismid resets it (automatic resets are on)");
    EXPECT_EQ(recommendedAction(vf, false), "'aismi vf reset 0:3' (automatic resets are off)");
    vf.set("State", std::string("error"));
    EXPECT_EQ(recommendedAction(vf, true), "'aismi vf reset 0:3'");
    vf.set("HealthReasons", std::vector<std::string>{"degraded: 1 uncorrectable ECC error"});
    EXPECT_EQ(recommendedAction(vf, true),
              "'aismi vf reset 0:3' restarts it; move what runs on it elsewhere: its uncorrectable ECC errors stay counted until a card reset "
              "('aismi reset -i 0', every VF with it); replace the card if they recur");
    vf.set("State", std::string("idle"));  // restarted by its reset: the count stays, and only a card reset clears it
    EXPECT_EQ(recommendedAction(vf, true).find("aismi vf reset"), std::string::npos) << recommendedAction(vf, true);
    vf.set("Quarantined", true);
    EXPECT_EQ(recommendedAction(vf, true), "quarantined (no reason given): once that is dealt with, 'aismi vf unquarantine 0:3'");
    vf.set("QuarantineReason", std::string("hung again after 3 automatic resets in 600 s"));
    EXPECT_EQ(recommendedAction(vf, true), "quarantined (hung again after 3 automatic resets in 600 s): once that is dealt with, 'aismi vf unquarantine 0:3'");
    BusObject stale{"", {{"CardIndex", uint64_t{0}}, {"Index", uint64_t{1}}, {"State", std::string("idle")}, {"Health", std::string("unknown")}}};
    EXPECT_EQ(recommendedAction(stale, true), "see 'aismi health': its data is not fresh");
}

TEST(CliRender, ShowsEachVfsRecoveryWithItsLastReset) {
    Inventory inv = sample();
    inv.manager.set("AutoReset", true);
    inv.manager.set("ResetGuardResets", uint64_t{3});
    inv.manager.set("ResetGuardWindowSeconds", uint64_t{600});
    inv.vfs[0].set("ResetCount", uint64_t{2});
    inv.vfs[0].set("GuardResetsLeft", uint64_t{1});
    const std::string out = renderReport(inv, {&inv.cards[0]}, {"RECOVERY"}, "now", {{"0:0", "2026-11-24 18:30:59"}});
    EXPECT_NE(out.find("Automatic Resets                  : On, at most 3 per VF in 600 s, then quarantine"), std::string::npos) << out;
    EXPECT_NE(out.find("Reset Count                   : 2"), std::string::npos) << out;
    EXPECT_NE(out.find("Last Reset                    : 2026-11-24 18:30:59"), std::string::npos) << out;
    EXPECT_NE(out.find("Guard Budget Left             : 1 of 3"), std::string::npos) << out;
    EXPECT_EQ(out.find("Health"), std::string::npos) << "only the asked section";
}

TEST(CliSelection, FindsCardsByIndexAddressShortAddressAndSerial) {
    const Inventory inv = sample();
    for (const char* id : {"0", "0000:3b:00.0", "3b:00.0", "AIS24110000"}) {
        auto r = selectCards(inv, {id});
        ASSERT_TRUE(r.ok()) << id;
        EXPECT_EQ(r->front()->number("Index"), 0u) << id;
    }
    auto r = selectCards(inv, {"9"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("no card '9'"), std::string::npos);
    EXPECT_EQ(selectCards(inv, {"1", "1"})->size(), 1u) << "named twice, shown once";
    EXPECT_EQ(vfsOf(inv, *selectCards(inv, {"1"})).size(), 0u);
    EXPECT_EQ(vfsOf(inv, *selectCards(inv, {"0"})).size(), 1u);
}

TEST(CliSelection, FindsVfsByCardByCardColonVfAndByAddress) {
    const Inventory inv = sample();
    for (const char* id : {"0", "0:0", "AIS24110000:0", "0000:3b:00.4", "3b:00.4"}) {
        auto r = selectVfs(inv, {id});
        ASSERT_TRUE(r.ok()) << id << ": " << r.error().message;
        ASSERT_EQ(r->size(), 1u) << id;
        EXPECT_EQ(r->front()->text("PciAddress"), "0000:3b:00.4");
    }
    auto r = selectVfs(inv, {"0:7"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("CARD:VF"), std::string::npos);
    EXPECT_TRUE(selectVfs(inv, {"1"})->empty()) << "a card without VFs selects none";
}

TEST(CliRender, DropsTheUnitOfALinkSpeedWithNounits) {
    const Field* speed = findField(cardFields(), "pcie.link.speed.current");
    ASSERT_NE(speed, nullptr);
    EXPECT_EQ(formatValue(Value(std::string("16.0 GT/s PCIe")), *speed, true), "16.0 GT/s PCIe");
    EXPECT_EQ(formatValue(Value(std::string("16.0 GT/s PCIe")), *speed, false), "16.0");
}

TEST(CliRender, WritesPciIdsInOneFormInCsvAndJson) {
    const Inventory inv = sample();
    const std::vector<const Field*> id{findField(cardFields(), "vendor_id")};
    EXPECT_EQ(renderCsv({&inv.cards[0]}, id, CsvFormat{false, true}), "0xa15e\n");
    EXPECT_NE(renderJsonRows({&inv.cards[0]}, id).find("\"vendor_id\": \"0xa15e\""), std::string::npos);
    EXPECT_NE(renderJsonRows({&inv.cards[1]}, id).find("\"vendor_id\": null"), std::string::npos) << "not reported";
}

TEST(CliRender, WritesAnEmptyListAsNoneNotATrailingSeparator) {
    Inventory inv = sample();
    inv.cards[0].set("HealthReasons", std::vector<std::string>{});
    const std::vector<const Field*> f{findField(cardFields(), "health"), findField(cardFields(), "health.reasons")};
    EXPECT_EQ(renderCsv({&inv.cards[0]}, f, CsvFormat{false, true}), "warning, None\n");
}

TEST(CliRender, JsonReportHonoursTheDisplaySections) {
    const Inventory inv = sample();
    const std::string only = renderJsonInventory(inv, all(inv), {"TEMPERATURE"}, "t");
    EXPECT_NE(only.find("\"temperature\""), std::string::npos);
    EXPECT_NE(only.find("\"serial\""), std::string::npos) << "identity is always there";
    EXPECT_EQ(only.find("\"power.draw\""), std::string::npos);
    EXPECT_EQ(only.find("\"vfs\""), std::string::npos) << "VFs come with SRIOV";
    const std::string whole = renderJsonInventory(inv, all(inv), {}, "t");
    EXPECT_NE(whole.find("\"power.draw\""), std::string::npos);
    EXPECT_NE(whole.find("\"vfs\""), std::string::npos);
    EXPECT_NE(renderJsonInventory(inv, all(inv), {"SRIOV"}, "t").find("\"vfs\""), std::string::npos);
}

TEST(CliRender, PutsAJsonDocumentOnOneLineExactly) {
    const Inventory inv = sample();
    const std::string line = json::oneLine(renderJsonInventory(inv, all(inv), {}, "t"));
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line, ending in a newline";
    EXPECT_NE(line.find("\"name\": \"An Accelerator With A Very Long Product Name Indeed\""), std::string::npos)
        << "spaces inside strings stay";
    EXPECT_EQ(json::oneLine("[\n {\"a\": \"x\\n  y\"}\n]\n"), "[{\"a\": \"x\\n  y\"}]\n") << "escaped newlines are not line breaks";
}

TEST(CliRender, ReportShowsAVfsProfileAndTenant) {
    Inventory inv = sample();
    inv.vfs[0].set("Profile", std::string("quarter"));
    inv.vfs[0].set("Tenant", std::string("acme"));
    const std::string out = renderReport(inv, {&inv.cards[0]}, {"SRIOV"}, "now");
    EXPECT_NE(out.find("0000:3b:00.4, running, ok, driver vfio-pci, profile quarter for acme\n"), std::string::npos) << out;
}

TEST(Dmon, AlignsCardAndVfRowsUnderTheHeaderAndShowsWhatIsNotReported) {
    aismi::cli::Inventory inv;
    aismi::cli::BusObject card{"/org/aismi/Manager1/card0", {}};
    card.set("Index", uint64_t{0});
    card.set("PciAddress", std::string("0000:3b:00.0"));
    card.set("Serial", std::string("S0"));
    card.set("PowerW", 61.4);
    card.set("TemperatureC", aismi::cli::Value(aismi::cli::NotAvailable{}));
    card.set("UtilizationPercent", uint64_t{50});
    card.set("VfEnabled", uint64_t{2});
    card.set("Health", std::string("ok"));
    inv.cards.push_back(card);
    for (uint64_t i = 0; i < 2; ++i) {
        aismi::cli::BusObject vf{"/org/aismi/Manager1/card0/vf" + std::to_string(i), {}};
        vf.set("CardIndex", uint64_t{0});
        vf.set("Index", i);
        vf.set("UtilizationPercent", uint64_t{i * 100});
        vf.set("State", std::string(i ? "running" : "hung"));
        vf.set("Quarantined", i == 0);
        vf.set("Health", std::string("ok"));
        inv.vfs.push_back(vf);
    }
    auto parsed = aismi::cli::parseCli({"dmon", "-s", "puv", "--vf"});
    ASSERT_TRUE(parsed.ok());
    ASSERT_NE(parsed->as<aismi::cli::DmonRequest>(), nullptr);
    auto r = std::optional(*parsed->as<aismi::cli::DmonRequest>());
    EXPECT_EQ(aismi::cli::dmonHeader(*r),
              "#    idx    pwr   temp   util    vfs    run   hung   quar    state   health\n"
              "#             W      C      %\n");
    auto lines = aismi::cli::dmonLines(inv, *r, 0);
    ASSERT_TRUE(lines.ok());
    EXPECT_EQ(*lines,
              "       0     61      -     50      2      1      1      1        -       ok\n"
              "     0:0      -      -      0      -      -      -      1     hung       ok\n"
              "     0:1      -      -    100      -      -      -      0  running       ok\n");
    r->json = true;
    r->vfs = false;
    EXPECT_EQ(*aismi::cli::dmonLines(inv, *r, 7),
              "{\"time\":7,\"card\":0,\"power_w\":61.4,\"temperature_c\":null,\"utilization_pct\":50,\"vfs\":2,\"vfs_running\":1,\"vfs_hung\":1,"
              "\"quarantined\":1,\"state\":null,\"health\":\"ok\"}\n");
    r->ids = {"4"};
    EXPECT_FALSE(aismi::cli::dmonLines(inv, *r, 0).ok()) << "a card that is not there";
}
