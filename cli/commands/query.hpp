// aismi with no command word, as nvidia-smi: the summary, -L, -q [-d SECTIONS],
// --query-card/--query-vf FIELDS, their field lists, and --version; -l repeats any of them.
#pragma once

#include "command.hpp"
#include "render.hpp"

#include <string>
#include <vector>

namespace aismi::cli {

/// What every query shares: the cards (-i), JSON (-j) and -l.
struct Shown {
    std::vector<std::string> ids;
    bool json = false;
    unsigned loopSeconds = 0;  // 0: once
};
/// aismi [-i ID] [-j]: every card, then every enabled VF.
struct SummaryRequest : Shown {};
/// -L: a line per card.
struct ListCardsRequest : Shown {};
/// -q [-d SECTIONS]: the full report; no sections means all.
struct ReportRequest : Shown {
    std::vector<std::string> sections;  // upper case
};
/// --query-card=FIELDS or --query-vf=FIELDS, as CSV or JSON.
struct FieldQueryRequest : Shown {
    bool vfs = false;
    std::vector<const Field*> fields;
    CsvFormat csv;
};

CommandSet queryCommands();

}  // namespace aismi::cli
