#include "app.hpp"

#include "card_reset.hpp"
#include "firmware.hpp"
#include "client_api.hpp"
#include "dmon.hpp"
#include "events.hpp"
#include "health.hpp"
#include "json.hpp"
#include "options.hpp"
#include "policy.hpp"
#include "provisioning.hpp"
#include "selection.hpp"
#include "version.hpp"

#include <aismi/text.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>
#include <sys/ioctl.h>
#include <unistd.h>

namespace aismi::cli {
namespace {

// ISO 8601 in UTC with its offset, as JSON readers and log pipelines expect.
std::string timestamp() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::ostringstream s;
    s << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S+00:00");
    return s.str();
}

int fail(std::ostream& err, const Error& e) {
    // stderr also carries the progress bars (\r, erase to end of line), so it is not filtered
    // whole as stdout is (terminal_safe.hpp): a message is escaped here.
    err << "aismi: " << text::escapeControl(e.message) << "\n";
    return errcInfo(e.code).exitCode;
}

// The properties a query needs: its fields plus what selecting by -i reads.
std::vector<std::string> propertiesFor(const std::vector<const Field*>& fields, std::set<std::string> base) {
    for (const auto* f : fields) base.insert(f->property);
    return {base.begin(), base.end()};
}

const std::set<std::string> kCardSelection{"Index", "PciAddress", "Serial"};
const std::set<std::string> kVfSelection{"CardIndex", "Index", "PciAddress"};

// Only what the request shows is fetched, typed, one Query per interface it needs.
Result<Inventory> fetchFor(DaemonClient& client, const CliRequest& r) {
    Inventory inv;
    switch (r.mode) {
    case CliRequest::Mode::Summary:
        if (!r.json) return client.fetchSummary();
        return client.fetch();
    case CliRequest::Mode::Report: return client.fetch();
    case CliRequest::Mode::ListCards:
        if (auto x = client.query(bus_names::kCardInterface, {"Index", "Name", "PciAddress", "Serial"}, inv.cards); !x) return std::move(x).error();
        return inv;
    case CliRequest::Mode::QueryCard:
        if (auto x = client.query(bus_names::kCardInterface, propertiesFor(r.fields, kCardSelection), inv.cards); !x) return std::move(x).error();
        return inv;
    case CliRequest::Mode::QueryVf:
    case CliRequest::Mode::VfList: {
        std::vector<std::string> vfProps;
        if (r.mode == CliRequest::Mode::QueryVf) vfProps = propertiesFor(r.fields, kVfSelection);  // empty: all
        if (auto x = client.query(bus_names::kCardInterface, {kCardSelection.begin(), kCardSelection.end()}, inv.cards); !x) return std::move(x).error();
        if (auto x = client.query(bus_names::kVfInterface, vfProps, inv.vfs); !x) return std::move(x).error();
        return inv;
    }
    default: return makeError(Errc::Internal, "not a query");
    }
}

// One run of a query that only reads.
Result<std::string> show(DaemonClient& client, const CliRequest& r, bool first) {
    auto inv = fetchFor(client, r);
    if (!inv) return std::move(inv).error();
    CsvFormat csv = r.csv;
    csv.header = csv.header && first;  // -l: the header once, not every iteration
    if (r.mode == CliRequest::Mode::QueryVf || r.mode == CliRequest::Mode::VfList) {
        auto vfs = selectVfs(*inv, r.ids);
        if (!vfs) return std::move(vfs).error();
        if (!r.domain.empty())
            std::erase_if(*vfs, [&](const BusObject* vf) { return vf->text("Domain") != r.domain; });
        if (r.mode == CliRequest::Mode::QueryVf) return r.json ? renderJsonRows(*vfs, r.fields) : renderCsv(*vfs, r.fields, csv);
        std::vector<const Field*> all;
        for (const auto& f : vfFields()) all.push_back(&f);
        return r.json ? renderJsonRows(*vfs, all) : renderVfTable(*vfs, r.domain.empty() ? "No VFs enabled" : "No VFs assigned to domain " + r.domain);
    }
    auto cards = selectCards(*inv, r.ids);
    if (!cards) return std::move(cards).error();
    switch (r.mode) {
    case CliRequest::Mode::Summary:
        return r.json ? renderJsonInventory(*inv, *cards, {}, timestamp()) : renderSummary(*inv, *cards, timestamp());
    case CliRequest::Mode::Report:
        if (r.json) return renderJsonInventory(*inv, *cards, r.sections, timestamp());
        if (!r.sections.empty() && std::find(r.sections.begin(), r.sections.end(), "RECOVERY") == r.sections.end())
            return renderReport(*inv, *cards, r.sections, timestamp());
        {
            // The RECOVERY section's last resets come from the event history.
            LastResets last;
            for (const BusObject* card : *cards) {
                auto resets = client.listEvents({std::nullopt, static_cast<uint32_t>(card->number("Index")), {"reset"}, 100000});
                if (!resets) return std::move(resets).error();
                for (const auto& e : *resets)
                    if (e.card && e.vf)
                        last[std::to_string(*e.card) + ":" + std::to_string(*e.vf)] =
                            localTime(e.at) + (e.severity == "info" ? "" : ", failed");
            }
            return renderReport(*inv, *cards, r.sections, timestamp(), last);
        }
    case CliRequest::Mode::QueryCard: return r.json ? renderJsonRows(*cards, r.fields) : renderCsv(*cards, r.fields, csv);
    case CliRequest::Mode::ListCards: {
        std::ostringstream out;
        for (const auto* c : *cards)
            out << "card " << c->number("Index") << ": " << c->text("Name") << " (PCI " << c->text("PciAddress") << ", serial "
                << c->text("Serial") << ")\n";
        return out.str();
    }
    default: return makeError(Errc::Internal, "not a query");
    }
}

Result<std::string> changeVfCount(DaemonClient& client, const CliRequest& r, std::ostream& err) {
    // Selection and the result table need only summary columns: no full property read.
    auto inv = client.fetchSummary();
    if (!inv) return std::move(inv).error();
    auto cards = selectCards(*inv, r.ids);
    if (!cards) return std::move(cards).error();
    const BusObject& card = *cards->front();
    const unsigned count = r.mode == CliRequest::Mode::VfEnable ? r.count : 0;
    // A progress line on a terminal; nothing when stderr is a file or a pipe.
    const bool tty = ::isatty(STDERR_FILENO) == 1 && &err == &std::cerr;
    const std::string what = count ? "enabling " + text::counted(count, "VF") : "disabling VFs";
    auto done = client.setVfCount(
        card.path, count, [&](unsigned percent) {
            if (tty) err << "\r" << what << " on card " << card.number("Index") << ": " << percent << "%" << std::flush;
        },
        r.force);
    if (tty) err << "\r\033[K" << std::flush;
    if (!done) return std::move(done).error();
    // aismid finished the job after reading the device back; show what it reports now.
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

// What was printed must have reached stdout: a full disk or a closed pipe is a failure.
int written(std::ostream& out, std::ostream& err) {
    out.flush();
    if (out) return 0;
    return fail(err, makeError(Errc::IoError, "cannot write to standard output"));
}

int version(const std::optional<std::string>& host, std::ostream& out, std::ostream& err) {
    out << "aismi " << kAismiVersion << "\n";
    auto client = DaemonClient::connect(host);
    Inventory inv;
    if (client && (*client)->readManager(inv)) {
        out << "aismid " << inv.manager.text("Version") << " (backend " << inv.manager.text("Backend") << ")\n";
    } else {
        out << "aismid not running\n";
    }
    return written(out, err);
}

unsigned terminalRows() {
    winsize w{};
    if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_row > 4) return w.ws_row;
    return 0;  // not a terminal: one header
}

// aismi dmon: streams until the count is reached, the user interrupts, or aismid leaves the bus.
Result<void> runDmon(DaemonClient& client, const CliRequest& r, std::ostream& out) {
    const unsigned rows = terminalRows();
    unsigned printed = 0, intervals = 0;
    bool headerShown = false;
    Result<void> failure;
    auto watched = client.watch(std::chrono::seconds(r.dmonDelaySeconds), [&](const Inventory& inv) {
        auto lines = dmonLines(inv, r, static_cast<int64_t>(std::time(nullptr)));
        if (!lines) {
            failure = std::move(lines).error();
            return false;
        }
        const unsigned n = static_cast<unsigned>(std::count(lines->begin(), lines->end(), '\n'));
        if (!r.json && (!headerShown || (rows && printed + n + 2 > rows - 1))) {
            out << dmonHeader(r);
            headerShown = true;
            printed = 2;
        }
        out << *lines;
        out.flush();
        printed += n;
        return !out.fail() && (r.dmonCount == 0 || ++intervals < r.dmonCount);
    });
    if (!failure) return failure;
    return watched;
}


// One request against aismid on `host` (this machine's when none).
int runOn(const CliRequest& r, const std::optional<std::string>& host, std::ostream& out, std::ostream& err) {
    switch (r.mode) {
    case CliRequest::Mode::Help: out << r.helpText; return written(out, err);
    case CliRequest::Mode::Version: return version(host, out, err);
    case CliRequest::Mode::HelpQueryCard: out << renderFieldHelp(cardFields(), "--query-card="); return written(out, err);
    case CliRequest::Mode::HelpQueryVf: out << renderFieldHelp(vfFields(), "--query-vf="); return written(out, err);
    default: break;
    }
    auto client = DaemonClient::connect(host);
    if (!client) return fail(err, client.error());
    if (r.mode == CliRequest::Mode::VfProvision || r.mode == CliRequest::Mode::VfUnprovision || r.mode == CliRequest::Mode::VfReset || r.mode == CliRequest::Mode::VfUnquarantine ||
        r.mode == CliRequest::Mode::VfQuarantine || r.mode == CliRequest::Mode::VfBind || r.mode == CliRequest::Mode::VfAssign ||
        r.mode == CliRequest::Mode::VfRelease || r.mode == CliRequest::Mode::ProfileList ||
        r.mode == CliRequest::Mode::QuotaSet || r.mode == CliRequest::Mode::QuotaShow || r.mode == CliRequest::Mode::QuotaRemove ||
        r.mode == CliRequest::Mode::PartitionApply || r.mode == CliRequest::Mode::PartitionShow || r.mode == CliRequest::Mode::PartitionExport) {
        auto text = runProvisioning(**client, r, err);
        if (!text) return fail(err, text.error());
        out << *text;
        return written(out, err);
    }
    if (r.mode == CliRequest::Mode::PolicySet || r.mode == CliRequest::Mode::PolicyShow) {
        auto text = runPolicy(**client, r);
        if (!text) return fail(err, text.error());
        out << *text;
        return written(out, err);
    }
    if (r.mode == CliRequest::Mode::Events) {
        if (auto done = runEvents(**client, r, out); !done) return fail(err, done.error());
        return written(out, err);
    }
    if (r.mode == CliRequest::Mode::Dmon) {
        if (auto done = runDmon(**client, r, out); !done) return fail(err, done.error());
        return written(out, err);
    }
    if (r.mode == CliRequest::Mode::CardReset) {
        auto text = runCardReset(**client, r);
        if (!text) return fail(err, text.error());
        out << *text;
        return written(out, err);
    }
    if (r.mode == CliRequest::Mode::FirmwareShow || r.mode == CliRequest::Mode::FirmwareJobs || r.mode == CliRequest::Mode::FirmwareUpdate ||
        r.mode == CliRequest::Mode::FirmwareActivate || r.mode == CliRequest::Mode::FirmwareRollback) {
        auto text = runFirmware(**client, r);
        if (!text) return fail(err, text.error());
        out << *text;
        return written(out, err);
    }
    if (r.mode == CliRequest::Mode::Health) {
        auto text = runHealth(**client, r);
        if (!text) return fail(err, text.error());
        out << *text;
        return written(out, err);
    }
    if (r.mode == CliRequest::Mode::VfEnable || r.mode == CliRequest::Mode::VfDisable) {
        auto text = changeVfCount(**client, r, err);
        if (!text) return fail(err, text.error());
        out << *text;
        return written(out, err);
    }
    for (bool first = true;; first = false) {
        auto text = show(**client, r, first);
        if (!text) return fail(err, text.error());
        out << (r.json && r.loopSeconds ? json::oneLine(*text) : *text);  // -l -j: JSON lines
        if (int rc = written(out, err)) return rc;
        if (!r.loopSeconds) return 0;
        std::this_thread::sleep_for(std::chrono::seconds(r.loopSeconds));
        if (!r.json && (r.mode == CliRequest::Mode::Summary || r.mode == CliRequest::Mode::Report)) out << "\n";
    }
}

// Every "aismi: ..." line of `errors` as "aismi: HOST: ...": which host said it.
std::string namingHost(const std::string& errors, const std::string& host) {
    std::istringstream lines(errors);
    std::string out;
    for (std::string line; std::getline(lines, line);)
        out += (line.rfind("aismi: ", 0) == 0 ? "aismi: " + host + ": " + line.substr(7) : line) + "\n";
    return out;
}

// A request that reads once, against several hosts: CSV rows start with the host (one header),
// JSON documents are gathered in one object by host, anything else comes under "# HOST". A
// host that fails says so and the others still answer; the exit code is the first failure's.
int runOnHosts(const CliRequest& r, std::ostream& out, std::ostream& err) {
    const bool csv = (r.mode == CliRequest::Mode::QueryCard || r.mode == CliRequest::Mode::QueryVf) && !r.json;
    int rc = 0;
    bool headerDone = false, firstJson = true;
    if (r.json) out << "{";
    for (const auto& host : r.hosts) {
        std::ostringstream o, e;
        const int code = runOn(r, host, o, e);
        err << text::escapeControl(namingHost(e.str(), host), true);
        if (code) {
            rc = rc ? rc : code;
            continue;
        }
        std::string text = o.str();
        if (r.json) {
            while (!text.empty() && text.back() == '\n') text.pop_back();
            out << (firstJson ? "\n " : ",\n ") << json::quote(host) << ": " << text;
            firstJson = false;
        } else if (csv) {
            std::istringstream lines(text);
            bool first = true;
            for (std::string line; std::getline(lines, line); first = false) {
                if (first && r.csv.header) {
                    if (!headerDone) out << "host, " << line << "\n";
                    headerDone = true;
                    continue;
                }
                out << host << ", " << line << "\n";
            }
        } else {
            out << "# " << host << "\n" << text;
        }
    }
    if (r.json) out << (firstJson ? "}\n" : "\n}\n");
    const int w = written(out, err);
    return rc ? rc : w;
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    auto request = parseCli(args);
    if (!request) return fail(err, request.error());
    const CliRequest& r = *request;
    if (r.hosts.empty() || r.mode == CliRequest::Mode::Help || r.mode == CliRequest::Mode::HelpQueryCard || r.mode == CliRequest::Mode::HelpQueryVf)
        return runOn(r, std::nullopt, out, err);
    if (r.hosts.size() > 1) return runOnHosts(r, out, err);
    std::ostringstream errors;  // its lines name the host
    const int rc = runOn(r, r.hosts.front(), out, errors);
    err << text::escapeControl(namingHost(errors.str(), r.hosts.front()), true);
    return rc;
}

}  // namespace aismi::cli
