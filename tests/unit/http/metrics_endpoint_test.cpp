// What /metrics says about simulated cards composed as aismid composes them: every card and
// VF, the age of the data, owner labels only when asked for, aismid's own counters.
#include "daemon_fixture.hpp"
#include "events.hpp"
#include "metrics_endpoint.hpp"

#include <gtest/gtest.h>

using namespace aismi;

namespace {

class MetricsEndpointTest : public aismi::test::DaemonFixture {
protected:
    MetricsEndpoint endpoint(bool ownerLabels = false) { return MetricsEndpoint(*events, *inventory, *poller, {ownerLabels, "1.2.3", "sim", [this] { return storeBytes; }}); }
    std::optional<uint64_t> storeBytes = 12288;
    static bool has(const std::string& text, const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; }
};

}  // namespace

TEST_F(MetricsEndpointTest, SaysHowOldEachCardsDataIs) {
    auto m = endpoint();
    const int64_t readAt = inventory->snapshot(0).readAtUs;
    ASSERT_GT(readAt, 0);
    const std::string text = m.render(metrics::Format::Prometheus, readAt + 2'500'000);
    const std::string card0 = R"(card="0",pci_address=")" + inventory->info(0).pciAddress + R"(",serial=")" + inventory->info(0).serial + R"(")";
    EXPECT_TRUE(has(text, "aismi_card_data_age_seconds{" + card0 + "} 2.5")) << text.substr(0, 3000);
    EXPECT_TRUE(has(text, "aismi_card_health{" + card0 + R"(,state="ok"} 1)"));
    EXPECT_TRUE(has(text, "aismi_card_health{" + card0 + R"(,state="critical"} 0)"));
    EXPECT_TRUE(has(text, "aismi_card_data_stale{" + card0 + "} 0"));
    EXPECT_TRUE(has(text, R"(aismi_build_info{version="1.2.3",backend="sim"} 1)"));
    EXPECT_TRUE(has(text, "aismi_cards 2"));
}

TEST_F(MetricsEndpointTest, ShowsEveryVfAndTheTenantOnlyWhenAskedTo) {
    ASSERT_TRUE(setVfCount(0, 2).ok());
    ASSERT_TRUE(provision(0, 1, "eighth", "acme").ok());
    auto plain = endpoint(false);
    const std::string vf1 = R"(card="0",vf="1",pci_address=")" + inventory->snapshot(0).vfs.at(1).pciAddress + R"(")";
    std::string text = plain.render(metrics::Format::Prometheus, 0);
    EXPECT_NE(text.find("aismi_vf_info{" + vf1 + R"(,driver=")"), std::string::npos) << text;
    EXPECT_NE(text.find(R"(profile="eighth")"), std::string::npos);
    EXPECT_EQ(text.find("acme"), std::string::npos) << "no tenant label unless the operator asks for it";
    EXPECT_TRUE(has(text, "aismi_vf_compute_units{" + vf1 + "} 16"));
    auto owners = endpoint(true);
    text = owners.render(metrics::Format::Prometheus, 0);
    EXPECT_TRUE(has(text, "aismi_vf_compute_units{" + vf1 + R"(,tenant="acme"} 16)")) << text;
    const std::string vf0 = R"(card="0",vf="0",pci_address=")" + inventory->snapshot(0).vfs.at(0).pciAddress + R"(")";
    EXPECT_TRUE(has(text, "aismi_vf_quarantined{" + vf0 + "} 0")) << "a VF without a tenant has no tenant label";
    // The libvirt domain a VF is given to, beside its tenant.
    poller->annotators.push_back([](CardSnapshot& s) {
        if (s.vfs.size() > 1) {
            s.vfs[1].setConsumer({ConsumerKind::Domain, "web1", "assigned"});
        }
    });
    poller->readAllNow();
    text = endpoint(true).render(metrics::Format::Prometheus, 0);
    EXPECT_TRUE(has(text, "aismi_vf_assigned{" + vf1 + R"(,tenant="acme",domain="web1"} 1)")) << text;
    EXPECT_TRUE(has(text, "aismi_vf_assigned{" + vf0 + "} 0"));
    EXPECT_EQ(endpoint(false).render(metrics::Format::Prometheus, 0).find("web1"), std::string::npos) << "only when the operator asks";
}

TEST_F(MetricsEndpointTest, CountsEveryNoticeByTypeAndSeverity) {
    auto m = endpoint();
    for (int i = 0; i < 3; ++i) events->publish(Notice{EventType::AutoReset, Severity::Warning, "card 0", "hung"});
    const std::string text = m.render(metrics::Format::Prometheus, 0);
    EXPECT_TRUE(has(text, R"(aismi_events_total{type="auto-reset",severity="warning"} 3)"));
    EXPECT_TRUE(has(text, R"(aismi_events_total{type="auto-reset",severity="critical"} 0)")) << "every type and severity, from zero";
}

TEST_F(MetricsEndpointTest, SaysWhatTheStateStoreTakesWhenItCanReadIt) {
    auto m = endpoint();
    EXPECT_TRUE(has(m.render(metrics::Format::Prometheus, 0), "aismi_state_store_bytes 12288"));
    storeBytes.reset();  // the store could not say
    EXPECT_EQ(m.render(metrics::Format::Prometheus, 0).find("aismi_state_store_bytes"), std::string::npos) << "no sample rather than a wrong one";
}

TEST_F(MetricsEndpointTest, RoutesMetricsTheIndexAndNothingElse) {
    auto m = endpoint();
    auto r = m.handle({"GET", "/metrics?debug=1", "application/openmetrics-text;version=1.0.0"});
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.contentType, metrics::contentType(metrics::Format::OpenMetrics));
    EXPECT_EQ(r.body.substr(r.body.size() - 6), "# EOF\n");
    EXPECT_EQ(m.handle({"GET", "/", ""}).status, 200u);
    EXPECT_EQ(m.handle({"GET", "/metricsx", ""}).status, 404u);
    EXPECT_EQ(m.handle({"GET", "/../metrics", ""}).status, 404u);
    const std::string text = m.render(metrics::Format::Prometheus, 0);
    EXPECT_TRUE(has(text, "aismi_scrape_duration_seconds_count 1")) << "the scrape before this rendering";
}
