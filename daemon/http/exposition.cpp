#include "exposition.hpp"

#include <charconv>
#include <cmath>

namespace aismi::metrics {
namespace {

constexpr std::string_view kOpenMetricsType = "application/openmetrics-text";

std::string_view kindName(Kind k, Format f) {
    switch (k) {
    case Kind::Gauge: return "gauge";
    case Kind::Counter: return "counter";
    case Kind::Info: return f == Format::OpenMetrics ? "info" : "gauge";
    case Kind::Summary: return "summary";
    }
    return "gauge";
}

bool endsWith(std::string_view s, std::string_view tail) { return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail; }

// HELP text: 0.0.4 escapes backslash and newline; OpenMetrics also the double quote.
void appendHelp(std::string& out, std::string_view help, Format f) {
    for (char c : help) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '"' && f == Format::OpenMetrics) out += "\\\"";
        else out += c;
    }
}

}  // namespace

Format negotiate(std::string_view accept) {
    return accept.find(kOpenMetricsType) != std::string_view::npos ? Format::OpenMetrics : Format::Prometheus;
}

std::string_view contentType(Format f) {
    return f == Format::OpenMetrics ? "application/openmetrics-text; version=1.0.0; charset=utf-8" : "text/plain; version=0.0.4; charset=utf-8";
}

void appendLabel(std::string& labels, std::string_view name, std::string_view value) {
    if (!labels.empty()) labels += ',';
    labels += name;
    labels += "=\"";
    for (char c : value) {
        if (c == '\\') labels += "\\\\";
        else if (c == '"') labels += "\\\"";
        else if (c == '\n') labels += "\\n";
        else labels += c;
    }
    labels += '"';
}

Exposition::Exposition(Format format, size_t reserve) : format_(format) { out_.reserve(reserve); }

void Exposition::family(std::string_view name, Kind kind, std::string_view help, std::string_view unit) {
    name_.assign(name);
    // OpenMetrics names the family without the suffix its samples carry.
    std::string_view familyName = name;
    if (format_ == Format::OpenMetrics) {
        if (kind == Kind::Counter && endsWith(name, "_total")) familyName.remove_suffix(6);
        if (kind == Kind::Info && endsWith(name, "_info")) familyName.remove_suffix(5);
    }
    out_ += "# HELP ";
    out_ += familyName;
    out_ += ' ';
    appendHelp(out_, help, format_);
    out_ += "\n# TYPE ";
    out_ += familyName;
    out_ += ' ';
    out_ += kindName(kind, format_);
    out_ += '\n';
    if (format_ == Format::OpenMetrics && !unit.empty()) {
        out_ += "# UNIT ";
        out_ += familyName;
        out_ += ' ';
        out_ += unit;
        out_ += '\n';
    }
}

void Exposition::sampleName(std::string_view labels, std::string_view extra, std::string_view suffix) {
    out_ += name_;
    out_ += suffix;
    if (labels.empty() && extra.empty()) {
        out_ += ' ';
        return;
    }
    out_ += '{';
    out_ += labels;
    if (!labels.empty() && !extra.empty()) out_ += ',';
    out_ += extra;
    out_ += "} ";
}

void Exposition::sample(std::string_view labels, double value, std::string_view extra, std::string_view suffix) {
    sampleName(labels, extra, suffix);
    if (std::isnan(value)) out_ += "NaN";
    else if (std::isinf(value)) out_ += value > 0 ? "+Inf" : "-Inf";
    else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
        out_.append(buf, ec == std::errc() ? end : buf);
    }
    out_ += '\n';
}

void Exposition::sample(std::string_view labels, uint64_t value, std::string_view extra, std::string_view suffix) {
    sampleName(labels, extra, suffix);
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out_.append(buf, end);
    out_ += '\n';
}

std::string Exposition::finish() && {
    if (format_ == Format::OpenMetrics) out_ += "# EOF\n";
    return std::move(out_);
}

}  // namespace aismi::metrics
