// The Prometheus endpoint as Prometheus meets it: the real aismid on simulated cards, scraped
// over TCP; its output checked by promtool in every state the simulator can put a card in;
// its bounds tested with clients that misbehave; and a real Prometheus server scraping it.
#include "http_client.hpp"
#include "json_parse.hpp"
#include "stack.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace aismi::test;
using namespace std::chrono_literals;

namespace {

/// `promtool check metrics` on `text`: "" when it passes, else what it said.
std::string promtoolProblems(Stack& stack, const std::string& text) {
    const std::string file = stack.path("metrics.txt");
    std::ofstream(file) << text;
    auto r = run({"/bin/sh", "-c", std::string(PROMTOOL_PATH) + " check metrics < '" + file + "'"});
    ::unlink(file.c_str());
    return r.exitCode == 0 ? std::string() : "exit " + std::to_string(r.exitCode) + ": " + r.out + r.err;
}

/// The value of the sample whose line starts with `series` (name and labels as written).
std::optional<std::string> sampleValue(const std::string& text, const std::string& series) {
    size_t at = 0;
    while ((at = text.find(series + " ", at)) != std::string::npos) {
        if (at == 0 || text[at - 1] == '\n') {
            const size_t start = at + series.size() + 1;
            return text.substr(start, text.find('\n', start) - start);
        }
        at += series.size();
    }
    return std::nullopt;
}

/// Whether a sample of `name` whose labels hold every one of `labels` has the value `value`.
bool hasSample(const std::string& text, const std::string& name, const std::vector<std::string>& labels, const std::string& value) {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        const size_t close = line.rfind("} ");
        if (line.rfind(name + "{", 0) != 0 || close == std::string::npos || line.substr(close + 2) != value) continue;
        if (std::all_of(labels.begin(), labels.end(), [&](const std::string& l) { return line.find(l) < close; })) return true;
    }
    return false;
}

size_t countLines(const std::string& text, const std::string& prefix) {
    size_t n = 0;
    for (size_t at = 0; (at = text.find("\n" + prefix, at)) != std::string::npos; ++at) ++n;
    return n;
}

class MetricsTest : public ::testing::Test {
protected:
    void SetUp() override {
        stack.startDaemon();
        address = stack.metricsAddress();
        ASSERT_FALSE(address.empty()) << "Manager1.MetricsAddress is empty";
        for (const char* card : {"0", "1"}) ASSERT_EQ(stack.aismi({"vf", "enable", "-i", card, "--count", "4"}).exitCode, 0);
    }
    std::string scrape(const std::vector<std::string>& headers = {}) {
        auto r = httpGet(address, "/metrics", headers);
        EXPECT_EQ(r.status, 200) << r.error;
        return r.body;
    }
    static Stack::Options options() {
        Stack::Options o;
        o.cards = 2;
        o.vfs = 4;
        o.pollMs = 100;
        return o;
    }
    Stack stack{options()};
    std::string address;
};

}  // namespace

TEST_F(MetricsTest, ServesEveryCardAndVfAndPromtoolAcceptsItInEveryState) {
    auto r = httpGet(address, "/metrics");
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(promtoolProblems(stack, r.body), "");
    EXPECT_EQ(countLines(r.body, "aismi_card_info{"), 2u);
    EXPECT_EQ(countLines(r.body, "aismi_vf_info{"), 8u);
    EXPECT_EQ(sampleValue(r.body, R"(aismi_cards)"), "2");
    const std::string card0 = R"(card="0",pci_address=")";
    EXPECT_NE(r.body.find("aismi_card_health{" + card0), std::string::npos);
    EXPECT_NE(r.body.find("aismi_card_temperature_celsius{card=\"0\""), std::string::npos);
    EXPECT_NE(r.body.find("aismi_card_data_age_seconds{card=\"1\""), std::string::npos);
    EXPECT_NE(r.body.find("aismi_vf_state{card=\"1\",vf=\"3\""), std::string::npos);

    // Faults, one state after another: each output passes promtool and says what happened.
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:1", "--profile", "eighth"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"load", "0:1", "on"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"inject", "0", "thermal"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"inject", "0", "link-degrade"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"inject", "0", "fw-corrupt"}).exitCode, 0);
    ASSERT_EQ(stack.sim({"inject", "0:2", "ecc-uncorrectable"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForVf("0:2", "health", "critical"));
    std::string text = scrape();
    EXPECT_EQ(promtoolProblems(stack, text), "");
    EXPECT_TRUE(hasSample(text, "aismi_vf_health", {R"(card="0",vf="2",)", R"(state="critical")"}, "1")) << text.substr(0, 4000);
    EXPECT_TRUE(hasSample(text, "aismi_card_pcie_link_degraded", {R"(card="0",)"}, "1"));
    EXPECT_TRUE(hasSample(text, "aismi_vf_info", {R"(card="0",vf="1",)", R"(profile="eighth")"}, "1"));
    EXPECT_TRUE(hasSample(text, "aismi_card_firmware_bank_integrity_ok", {R"(card="0",)"}, "0")) << "the inactive bank fails its check";
    EXPECT_TRUE(hasSample(text, "aismi_vf_ecc_uncorrected_errors_total", {R"(card="0",vf="2",)"}, "1"));

    // A card that vanishes: health lost, its values absent (never a made-up zero), and the
    // age of its data keeps growing for an alert to see.
    ASSERT_EQ(stack.sim({"inject", "1", "device-lost"}).exitCode, 0);
    ASSERT_TRUE(stack.waitForCardField("health", "lost", 1));
    text = scrape();
    EXPECT_EQ(promtoolProblems(stack, text), "");
    EXPECT_TRUE(hasSample(text, "aismi_card_health", {R"(card="1",)", R"(state="lost")"}, "1"));
    EXPECT_EQ(text.find("aismi_card_temperature_celsius{card=\"1\""), std::string::npos) << "a lost card's temperature is absent";
    EXPECT_EQ(text.find("aismi_vf_state{card=\"1\""), std::string::npos) << "the VFs of a lost card have no state to report";
    EXPECT_TRUE(hasSample(text, "aismi_vf_health", {R"(card="1",vf="0",)", R"(state="lost")"}, "1"));

    // Scrapes while a card is being reset all answer, and pass.
    std::atomic<bool> resetting{true};
    std::atomic<int> failures{0}, scrapes{0};
    std::thread scraper([&] {
        while (resetting) {
            auto s = httpGet(address, "/metrics");
            ++scrapes;
            if (s.status != 200 || s.body.find("aismi_cards 2") == std::string::npos) ++failures;
        }
    });
    auto reset = stack.aismi({"reset", "-i", "0", "--force"});
    resetting = false;
    scraper.join();
    EXPECT_EQ(reset.exitCode, 0) << reset.err;
    EXPECT_GT(scrapes.load(), 0);
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(promtoolProblems(stack, scrape()), "");
}

TEST_F(MetricsTest, SpeaksOpenMetricsWhenAskedAndAnswersOnlyWhatItServes) {
    auto r = httpGet(address, "/metrics", {"Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"});
    ASSERT_EQ(r.status, 200) << r.error;
    EXPECT_EQ(r.headers["content-type"], "application/openmetrics-text; version=1.0.0; charset=utf-8");
    EXPECT_TRUE(r.body.size() > 6 && r.body.substr(r.body.size() - 6) == "# EOF\n");
    EXPECT_NE(r.body.find("# UNIT aismi_card_temperature_celsius celsius\n"), std::string::npos);
    EXPECT_NE(r.body.find("# TYPE aismi_events counter\n"), std::string::npos);
    EXPECT_NE(r.body.find("\naismi_events_total{type=\"daemon\",severity=\"info\"} "), std::string::npos);
    EXPECT_NE(r.body.find("# TYPE aismi_card info\n"), std::string::npos);

    auto head = httpExchange(address, "HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.body, "");
    EXPECT_GT(std::stoul(head.headers["content-length"]), 1000u);
    EXPECT_EQ(httpGet(address, "/nothing-here").status, 404);
    auto post = httpExchange(address, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(post.status, 405);
    EXPECT_EQ(post.headers["allow"], "GET, HEAD");
    EXPECT_EQ(httpGet(address, "/").status, 200);
}

TEST_F(MetricsTest, SlowIdleAndMaliciousClientsNeitherStallTheDaemonNorGrowIt) {
    scrape();
    const long rssBefore = rssKib(stack.daemonPid());
    // 200 connections that never send a byte.
    std::vector<int> idle;
    for (int i = 0; i < 200; ++i) {
        const int fd = connectTcp(address);
        ASSERT_GE(fd, 0);
        idle.push_back(fd);
    }
    // A client that sends its request one byte a second.
    std::atomic<bool> slowClosed{false};
    std::thread slow([&] {
        const int fd = connectTcp(address);
        const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
        for (char c : request) {
            if (::send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
                slowClosed = true;
                break;
            }
            std::this_thread::sleep_for(1s);
        }
        ::close(fd);
    });
    // Garbage, and a 1 MB header.
    EXPECT_EQ(httpExchange(address, "HELLO THERE\r\n\r\n").status, 400);
    EXPECT_EQ(httpExchange(address, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n").status, 431);
    EXPECT_EQ(httpExchange(address, "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello").status, 400);
    // Meanwhile a scraper is served, every time.
    for (int i = 0; i < 5; ++i) {
        auto r = httpGet(address, "/metrics");
        EXPECT_EQ(r.status, 200) << r.error;
    }
    // And the daemon still answers on the bus.
    EXPECT_EQ(stack.aismi({"-L"}).exitCode, 0);
    slow.join();
    EXPECT_TRUE(slowClosed) << "a request trickling in for longer than the request timeout is cut off";
    for (int fd : idle) ::close(fd);
    const std::string text = scrape();
    EXPECT_EQ(promtoolProblems(stack, text), "");
    const auto counter = [&](const std::string& name) { return std::stoull(sampleValue(text, name).value_or("0")); };
    EXPECT_GE(counter("aismi_http_connections_evicted_total"), 160u) << "the idle connections made room for the others";
    EXPECT_GE(counter("aismi_http_requests_malformed_total"), 3u);
    EXPECT_GE(counter("aismi_http_connections_timed_out_total"), 1u);
    EXPECT_LE(std::stoull(sampleValue(text, "aismi_http_connections_open").value_or("99")), 32u);
    const long rssAfter = rssKib(stack.daemonPid());
    EXPECT_LT(rssAfter - rssBefore, 32 * 1024) << "RSS " << rssBefore << " -> " << rssAfter << " KiB";
}

TEST_F(MetricsTest, ARealPrometheusWithTheShippedConfigAndRulesSeesAFaultAndFiresItsAlert) {
    const std::string prometheusPort = std::to_string(freeLoopbackPort());
    // contrib/prometheus as a user installs it, pointed at this daemon and made faster.
    std::string shipped = fileText(std::string(AISMI_PROMETHEUS_CONTRIB) + "/prometheus.yml");
    const auto replace = [&](const std::string& from, const std::string& to) {
        const size_t at = shipped.find(from);
        ASSERT_NE(at, std::string::npos) << from << " is not in the shipped prometheus.yml";
        shipped.replace(at, from.size(), to);
    };
    replace("\"127.0.0.1:9400\"", "\"" + address + "\"");
    replace("scrape_interval: 15s", "scrape_interval: 1s");
    replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    replace("scrape_interval: 5s", "scrape_interval: 1s");
    replace("scrape_timeout: 4s", "scrape_timeout: 1s");
    const std::string config = stack.path("prometheus.yml");
    std::ofstream(config) << shipped;
    std::filesystem::copy_file(std::string(AISMI_PROMETHEUS_CONTRIB) + "/aismi-rules.yml", stack.path("aismi-rules.yml"));
    Process prometheus = Process::spawn({PROMETHEUS_PATH, "--config.file=" + config, "--storage.tsdb.path=" + stack.path("tsdb"),
                                         "--web.listen-address=127.0.0.1:" + prometheusPort, "--log.level=warn"},
                                        {{}, std::nullopt, "", stack.path("prometheus.log")});
    const std::string api = "127.0.0.1:" + prometheusPort;
    // The value of an instant query's single series, "" while there is none.
    const auto query = [&](const std::string& promql) -> std::string {
        std::string encoded;
        for (unsigned char c : promql) {
            if (std::isalnum(c) || c == '_') encoded += static_cast<char>(c);
            else {
                char hex[4];
                std::snprintf(hex, sizeof hex, "%%%02X", c);
                encoded += hex;
            }
        }
        auto r = httpGet(api, "/api/v1/query?query=" + encoded, {}, 5000);
        if (r.status != 200) return {};
        // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[1796.1,"1"]}]}}
        const size_t at = r.body.find("\"value\":[");
        const size_t open = at == std::string::npos ? at : r.body.find(",\"", at);
        const size_t close = open == std::string::npos ? open : r.body.find('"', open + 2);
        return close == std::string::npos ? std::string() : r.body.substr(open + 2, close - open - 2);
    };
    const auto waitFor = [&](const std::string& promql, const std::string& expected, std::chrono::seconds limit) {
        const auto until = std::chrono::steady_clock::now() + limit;
        std::string got;
        while (std::chrono::steady_clock::now() < until) {
            got = query(promql);
            if (got == expected) return true;
            std::this_thread::sleep_for(200ms);
        }
        ADD_FAILURE() << promql << " is '" << got << "', not '" << expected << "'";
        return false;
    };
    ASSERT_TRUE(waitFor(R"(up{job="aismi"})", "1", 60s)) << "prometheus log:\n" << [&] {
        std::ifstream in(stack.path("prometheus.log"));
        return std::string(std::istreambuf_iterator<char>(in), {});
    }();
    EXPECT_TRUE(waitFor(R"(count(aismi_vf_info))", "8", 10s));
    EXPECT_TRUE(waitFor(R"(aismi_card_health{card="0",state="ok"})", "1", 10s));

    ASSERT_EQ(stack.sim({"inject", "0", "ecc-uncorrectable"}).exitCode, 0);
    const auto injected = std::chrono::steady_clock::now();
    // A poll (100 ms) and a scrape (1 s), plus Prometheus' own pace; generous for a busy machine.
    EXPECT_TRUE(waitFor(R"(aismi_card_health{card="0",state="critical"})", "1", 30s));
    std::cout << "[ measured ] fault to critical in Prometheus: "
              << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - injected).count() << " ms\n";
    EXPECT_TRUE(waitFor(R"(aismi_card_ecc_uncorrected_errors_total{card="0"})", "1", 10s));
    // The shipped rule fires in the real server (it has no "for": at the next evaluation).
    EXPECT_TRUE(waitFor(R"(ALERTS{alertname="AismiUncorrectableEcc",alertstate="firing",card="0"})", "1", 30s));
    EXPECT_EQ(query(R"(ALERTS{alertname="AismidDown"})"), "") << "aismid is up: its alert is quiet";
    EXPECT_NE(query(R"(aismi_card_data_age_seconds{card="0"} < 5)"), "") << "a card polled every 100 ms has data younger than 5 s";
    prometheus.stop();
}

TEST(Dmon, StreamsAlignedLinesThatFollowTheCardsAsAismidSignalsChanges) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    // An unprivileged uid: watching needs no authorization.
    Process dmon = stack.spawnAismi({"dmon", "--vf", "-s", "uv", "-i", "0", "-c", "8"}, 65534, "dmon");
    const std::string out = stack.path("dmon.out");
    ASSERT_TRUE(waitForText(out, "     0:1")) << fileText(out) << fileText(stack.path("dmon.err"));
    ASSERT_EQ(stack.sim({"load", "0:1", "on"}).exitCode, 0);
    EXPECT_TRUE(waitForText(out, "running", 6000)) << "a workload started shows within a few lines:\n" << fileText(out);
    EXPECT_EQ(dmon.stop(0, 15000) >> 8, 0) << "-c 8 ends by itself: " << fileText(stack.path("dmon.err"));
    std::istringstream lines(fileText(out));
    std::string line;
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(line, "#    idx   util    vfs    run   hung   quar    state   health");
    const size_t width = line.size();
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(line, "#             %");
    size_t rows = 0;
    while (std::getline(lines, line)) {
        ++rows;
        EXPECT_EQ(line.size(), width) << "every row is aligned under the header: '" << line << "'";
    }
    EXPECT_EQ(rows, 8u * 3) << "the card and its two VFs, eight times (one header: not a terminal)";

    auto json = stack.aismi({"dmon", "-c", "1", "-j", "-s", "p"});
    ASSERT_EQ(json.exitCode, 0) << json.err;
    std::istringstream objects(json.out);
    size_t n = 0;
    for (std::string l; std::getline(objects, l); ++n) {
        auto doc = parseJson(l);
        ASSERT_TRUE(doc) << l;
        EXPECT_GT((*doc)["temperature_c"].num(), 0) << l;
    }
    EXPECT_EQ(n, 2u);
    for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
             {"dmon", "-s", "pq"}, {"dmon", "-c", "0"}, {"dmon", "-d", "86401"}, {"dmon", "-i", "0:1"}, {"dmon", "-i", "7", "-c", "1"}, {"dmon", "extra"}}) {
        auto r = stack.aismi(bad);
        EXPECT_NE(r.exitCode, 0) << bad.back();
        EXPECT_NE(r.err, "") << bad.back();
    }
}

TEST(MetricsConfig, OwnerLabelsFollowTheConfigOnSighupAndATakenPortStopsTheStart) {
    Stack::Options o;
    TempDir configDir;
    o.configFile = configDir / "aismid.conf";
    std::ofstream(o.configFile) << "poll-interval = 200\nmetrics-vf-owner-labels = no\n";
    Stack stack(o);
    stack.startDaemon();
    const std::string address = stack.metricsAddress();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:1", "--profile", "eighth", "--tenant", "acme"}).exitCode, 0);
    EXPECT_EQ(httpGet(address, "/metrics").body.find("tenant=\"acme\""), std::string::npos);
    std::ofstream(o.configFile) << "poll-interval = 200\nmetrics-vf-owner-labels = yes\n";
    ::kill(stack.daemonPid(), SIGHUP);
    bool labelled = false;
    for (int i = 0; i < 100 && !labelled; ++i) {
        labelled = httpGet(address, "/metrics").body.find(R"(vf="1",pci_address="0000:3b:00.5",tenant="acme"} )") != std::string::npos;
        if (!labelled) std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(labelled) << stack.daemonLog();
    EXPECT_EQ(stack.metricsAddress(), address) << "the address stays until the next start";

    // A second aismid (on a bus of its own) asked for the same port does not start, and says why.
    Stack other;
    auto r = run({AISMID_PATH, "--backend=sim", "--state-dir=" + other.stateDir(), "--config=/dev/null", "--metrics-address=" + address},
                 [&] {
                     SpawnOptions s;
                     s.env = {{"DBUS_SYSTEM_BUS_ADDRESS", other.busAddress()}};
                     return s;
                 }(),
                 20000);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_NE(r.err.find("metrics endpoint: cannot listen on " + address + ": Address already in use (--metrics-address=none turns it off)"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(std::filesystem::exists(other.stateDir() + "/aismid.db")) << "nothing written before it gave up";
}
