// Prometheus text exposition, written straight into one string: the 0.0.4 text format, or
// OpenMetrics 1.0 (`# UNIT`, counters' families without `_total`, `# EOF`) when the scraper
// asks for it. Names and label values are the caller's; label values are escaped here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace aismi::metrics {

enum class Format { Prometheus, OpenMetrics };
/// What an HTTP Accept header asks for: OpenMetrics when it names application/openmetrics-text
/// (as Prometheus does), the 0.0.4 text format otherwise.
Format negotiate(std::string_view accept);
std::string_view contentType(Format f);

enum class Kind { Gauge, Counter, Info, Summary };

/// Appends `name="value"` (escaped) to a label list being built, with a comma when needed.
void appendLabel(std::string& labels, std::string_view name, std::string_view value);

class Exposition {
public:
    explicit Exposition(Format format, size_t reserve = 0);

    /// Starts a family. `name` is what a 0.0.4 scraper sees: counters end in `_total`, info
    /// families in `_info`; `unit` is the base unit the name ends in ("" for none).
    void family(std::string_view name, Kind kind, std::string_view help, std::string_view unit = {});
    /// A sample of the current family. `labels` is a list built with appendLabel; `extra`, a
    /// second one appended to it (a state, say). `suffix` names a summary's `_sum` or `_count`.
    void sample(std::string_view labels, double value, std::string_view extra = {}, std::string_view suffix = {});
    void sample(std::string_view labels, uint64_t value, std::string_view extra = {}, std::string_view suffix = {});

    /// The exposition, ended as the format requires.
    std::string finish() &&;

private:
    void sampleName(std::string_view labels, std::string_view extra, std::string_view suffix);

    Format format_;
    std::string out_;
    std::string name_;  // the current family's sample name
};

}  // namespace aismi::metrics
