#include "app.hpp"

#include "daemon_client.hpp"
#include "options.hpp"
#include "selection.hpp"
#include "version.hpp"

#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

namespace aismi::cli {
namespace {

std::string timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    std::ostringstream s;
    s << std::put_time(&tm, "%a %b %e %H:%M:%S %Y");
    return s.str();
}

int fail(std::ostream& err, const Error& e) {
    err << "aismi: " << e.message << "\n";
    return errcInfo(e.code).exitCode;
}

// One run of a query that only reads.
Result<std::string> show(DaemonClient& client, const CliRequest& r) {
    // The plain summary needs only its columns: the fast path. Everything else reads all.
    const bool summaryOnly = r.mode == CliRequest::Mode::Summary && !r.json;
    auto inv = summaryOnly ? client.fetchSummary() : client.fetch();
    if (!inv) return std::move(inv).error();
    if (r.mode == CliRequest::Mode::QueryVf || r.mode == CliRequest::Mode::VfList) {
        auto vfs = selectVfs(*inv, r.ids);
        if (!vfs) return std::move(vfs).error();
        if (r.mode == CliRequest::Mode::QueryVf) return r.json ? renderJsonRows(*vfs, r.fields) : renderCsv(*vfs, r.fields, r.csv);
        std::vector<const Field*> all;
        for (const auto& f : vfFields()) all.push_back(&f);
        return r.json ? renderJsonRows(*vfs, all) : renderVfTable(*vfs);
    }
    auto cards = selectCards(*inv, r.ids);
    if (!cards) return std::move(cards).error();
    switch (r.mode) {
    case CliRequest::Mode::Summary: return r.json ? renderJsonInventory(*inv, *cards, timestamp()) : renderSummary(*inv, *cards, timestamp());
    case CliRequest::Mode::Report:
        return r.json ? renderJsonInventory(*inv, *cards, timestamp()) : renderReport(*inv, *cards, r.sections, timestamp());
    case CliRequest::Mode::QueryCard: return r.json ? renderJsonRows(*cards, r.fields) : renderCsv(*cards, r.fields, r.csv);
    default: return makeError(Errc::Internal, "not a query");
    }
}

Result<std::string> changeVfCount(DaemonClient& client, const CliRequest& r) {
    // Selection and the result table need only summary columns: no full property read.
    auto inv = client.fetchSummary();
    if (!inv) return std::move(inv).error();
    auto cards = selectCards(*inv, r.ids);
    if (!cards) return std::move(cards).error();
    const BusObject& card = *cards->front();
    const unsigned count = r.mode == CliRequest::Mode::VfEnable ? r.count : 0;
    if (auto done = client.setVfCount(card.path, count); !done) return std::move(done).error();
    // aismid answered after reading the device back; show what it reports now.
    auto after = client.fetchSummary();
    if (!after) return std::move(after).error();
    auto again = selectCards(*after, {std::to_string(card.number("Index"))});
    if (!again) return std::move(again).error();
    const BusObject& now = *again->front();
    std::ostringstream out;
    out << "card " << now.number("Index") << " (" << now.text("PciAddress") << "): " << now.number("VfEnabled") << " of "
        << now.number("VfTotal") << " VFs enabled\n";
    if (count) out << renderVfTable(vfsOf(*after, *again));
    return out.str();
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    auto request = parseCli(args);
    if (!request) return fail(err, request.error());
    const CliRequest& r = *request;
    switch (r.mode) {
    case CliRequest::Mode::Help: out << r.helpText; return 0;
    case CliRequest::Mode::Version: out << "aismi " << kAismiVersion << "\n"; return 0;
    case CliRequest::Mode::HelpQueryCard: out << renderFieldHelp(cardFields(), "--query-card="); return 0;
    case CliRequest::Mode::HelpQueryVf: out << renderFieldHelp(vfFields(), "--query-vf="); return 0;
    default: break;
    }
    auto client = DaemonClient::connect();
    if (!client) return fail(err, client.error());
    if (r.mode == CliRequest::Mode::VfEnable || r.mode == CliRequest::Mode::VfDisable) {
        auto text = changeVfCount(**client, r);
        if (!text) return fail(err, text.error());
        out << *text;
        return 0;
    }
    for (;;) {
        auto text = show(**client, r);
        if (!text) return fail(err, text.error());
        out << *text << std::flush;
        if (!r.loopSeconds) return 0;
        std::this_thread::sleep_for(std::chrono::seconds(r.loopSeconds));
        if (!r.json && (r.mode == CliRequest::Mode::Summary || r.mode == CliRequest::Mode::Report)) out << "\n";
    }
}

}  // namespace aismi::cli
