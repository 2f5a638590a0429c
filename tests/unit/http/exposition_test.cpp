// The exposition formats: what Prometheus' 0.0.4 parser and the OpenMetrics parser expect.
#include "exposition.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace aismi::metrics;

TEST(Exposition, NegotiatesOpenMetricsOnlyWhenTheScraperAsksForIt) {
    EXPECT_EQ(negotiate(""), Format::Prometheus);
    EXPECT_EQ(negotiate("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), Format::Prometheus);
    EXPECT_EQ(negotiate("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5"),
              Format::OpenMetrics);
    EXPECT_EQ(contentType(Format::Prometheus), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(Exposition, WritesTheTextFormatWithEscapedLabels) {
    Exposition out(Format::Prometheus);
    std::string labels;
    appendLabel(labels, "card", "0");
    appendLabel(labels, "name", "a \"quoted\" \\ name\nnext");
    out.family("aismi_card_temperature_celsius", Kind::Gauge, "Card temperature.", "celsius");
    out.sample(labels, 41.5);
    out.sample({}, std::nan(""));
    out.family("aismi_events_total", Kind::Counter, "Events.");
    out.sample({}, uint64_t{18446744073709551615u}, R"(type="x")");
    out.family("aismi_card_info", Kind::Info, "Info.");
    out.sample(labels, 1.0);
    out.family("aismi_poll_duration_seconds", Kind::Summary, "Polls.", "seconds");
    out.sample({}, 0.25, {}, "_sum");
    out.sample({}, uint64_t{3}, {}, "_count");
    EXPECT_EQ(std::move(out).finish(),
              "# HELP aismi_card_temperature_celsius Card temperature.\n"
              "# TYPE aismi_card_temperature_celsius gauge\n"
              "aismi_card_temperature_celsius{card=\"0\",name=\"a \\\"quoted\\\" \\\\ name\\nnext\"} 41.5\n"
              "aismi_card_temperature_celsius NaN\n"
              "# HELP aismi_events_total Events.\n"
              "# TYPE aismi_events_total counter\n"
              "aismi_events_total{type=\"x\"} 18446744073709551615\n"
              "# HELP aismi_card_info Info.\n"
              "# TYPE aismi_card_info gauge\n"
              "aismi_card_info{card=\"0\",name=\"a \\\"quoted\\\" \\\\ name\\nnext\"} 1\n"
              "# HELP aismi_poll_duration_seconds Polls.\n"
              "# TYPE aismi_poll_duration_seconds summary\n"
              "aismi_poll_duration_seconds_sum 0.25\n"
              "aismi_poll_duration_seconds_count 3\n");
}

TEST(Exposition, WritesOpenMetricsWithUnitsFamilyNamesAndEof) {
    Exposition out(Format::OpenMetrics);
    out.family("aismi_card_temperature_celsius", Kind::Gauge, "Card \"hot\".", "celsius");
    out.sample(R"(card="0")", 1e21);
    out.family("aismi_events_total", Kind::Counter, "Events.");
    out.sample({}, uint64_t{2});
    out.family("aismi_card_info", Kind::Info, "Info.");
    out.sample({}, 1.0);
    EXPECT_EQ(std::move(out).finish(),
              "# HELP aismi_card_temperature_celsius Card \\\"hot\\\".\n"
              "# TYPE aismi_card_temperature_celsius gauge\n"
              "# UNIT aismi_card_temperature_celsius celsius\n"
              "aismi_card_temperature_celsius{card=\"0\"} 1e+21\n"
              "# HELP aismi_events Events.\n"
              "# TYPE aismi_events counter\n"
              "aismi_events_total 2\n"
              "# HELP aismi_card Info.\n"
              "# TYPE aismi_card info\n"
              "aismi_card_info 1\n"
              "# EOF\n");
}
