#include "firmware.hpp"

#include "client_api.hpp"
#include "json.hpp"
#include "selection.hpp"

#include <aismi/firmware_image.hpp>
#include <aismi/text.hpp>

#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace aismi::cli {
namespace {

const std::vector<std::string> kProperties{"Index", "PciAddress", "FirmwareVersion", "FirmwareActiveBank", "FirmwareBootBank", "FirmwareBankVersions",
                                           "FirmwareBankIntegrity", "FirmwareBankHashes", "FirmwareLastTry", "FirmwareSelfTest"};

std::vector<std::string> listOf(const BusObject& o, std::string_view name) {
    const auto* v = std::get_if<std::vector<std::string>>(&o.get(name));
    return v ? *v : std::vector<std::string>{};
}

std::string orDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string when(uint64_t unixSeconds) {
    if (!unixSeconds) return "-";
    const std::time_t t = static_cast<std::time_t>(unixSeconds);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
    return buf;
}

std::string rowJson(const DaemonClient::FirmwareUpdateRow& u) {
    std::ostringstream o;
    o << "{\"id\": " << u.id << ", \"job\": " << u.job << ", \"kind\": " << json::quote(u.kind) << ", \"from_version\": " << json::quote(u.fromVersion)
      << ", \"from_bank\": " << u.fromBank << ", \"to_version\": " << json::quote(u.toVersion) << ", \"to_bank\": " << u.toBank
      << ", \"activate\": " << json::quote(u.activate) << ", \"state\": " << json::quote(u.state) << ", \"reason\": " << json::quote(u.reason)
      << ", \"started\": " << u.started << ", \"finished\": " << (u.finished ? std::to_string(u.finished) : "null") << "}";
    return o.str();
}

std::string cardLabel(const BusObject& card) { return "card " + std::to_string(card.number("Index")) + " (" + card.text("PciAddress") + ")"; }

Result<std::vector<const BusObject*>> cards(DaemonClient& client, Inventory& inv, const CliRequest& r) {
    if (auto q = client.query(bus_names::kCardInterface, kProperties, inv.cards); !q) return std::move(q).error();
    return selectCards(inv, r.ids);
}

Result<std::string> show(DaemonClient& client, const CliRequest& r) {
    Inventory inv;
    auto selected = cards(client, inv, r);
    if (!selected) return std::move(selected).error();
    std::ostringstream out;
    if (r.json) out << "[";
    bool first = true;
    for (const BusObject* card : *selected) {
        auto rows = client.listFirmwareUpdates(card->path, 20);
        if (!rows) return std::move(rows).error();
        const DaemonClient::FirmwareUpdateRow* pending = nullptr;
        const DaemonClient::FirmwareUpdateRow* last = nullptr;
        for (const auto& u : *rows) {
            if (!pending && !u.finished) pending = &u;
            if (!last && u.finished) last = &u;
        }
        const auto versions = listOf(*card, "FirmwareBankVersions"), integrity = listOf(*card, "FirmwareBankIntegrity"),
                   hashes = listOf(*card, "FirmwareBankHashes");
        const bool boots = std::holds_alternative<uint64_t>(card->get("FirmwareBootBank"));
        if (r.json) {
            out << (first ? "\n " : ",\n ") << "{\"card\": " << card->number("Index") << ", \"pci.bus_id\": " << json::quote(card->text("PciAddress"))
                << ", \"version\": " << json::quote(card->text("FirmwareVersion")) << ", \"active_bank\": " << card->number("FirmwareActiveBank")
                << ", \"boot_bank\": " << (boots ? std::to_string(card->number("FirmwareBootBank")) : "null") << ", \"banks\": [";
            for (size_t b = 0; b < versions.size(); ++b)
                out << (b ? ", " : "") << "{\"bank\": " << b << ", \"version\": " << json::quote(versions[b])
                    << ", \"integrity\": " << json::quote(b < integrity.size() ? integrity[b] : "") << ", \"sha256\": " << json::quote(b < hashes.size() ? hashes[b] : "")
                    << "}";
            out << "], \"last_try\": " << json::quote(card->text("FirmwareLastTry")) << ", \"self_test\": " << json::quote(card->text("FirmwareSelfTest"))
                << ", \"pending\": " << (pending ? rowJson(*pending) : "null") << ", \"last\": " << (last ? rowJson(*last) : "null") << "}";
        } else {
            out << cardLabel(*card) << "\n";
            out << "  running      " << orDash(card->text("FirmwareVersion")) << " (bank " << card->number("FirmwareActiveBank") << ")\n";
            out << "  boots        " << (boots ? "bank " + std::to_string(card->number("FirmwareBootBank")) + " (committed)" : std::string("- (no A/B update ABI)")) << "\n";
            for (size_t b = 0; b < versions.size(); ++b) {
                char line[200];
                const std::string hash = b < hashes.size() && !hashes[b].empty() ? hashes[b].substr(0, 16) + "..." : "-";
                std::snprintf(line, sizeof line, "  bank %zu       %-12s %-4s sha256 %s\n", b, orDash(versions[b]).c_str(), b < integrity.size() ? integrity[b].c_str() : "-",
                              hash.c_str());
                out << line;
            }
            out << "  last try     " << orDash(card->text("FirmwareLastTry")) << "\n";
            out << "  self-test    " << orDash(card->text("FirmwareSelfTest")) << "\n";
            out << "  pending      "
                << (pending ? pending->kind + " " + std::to_string(pending->id) + ": " + pending->state + " " + pending->toVersion + " (bank " +
                                  std::to_string(pending->toBank) + "): " + pending->reason
                            : std::string("-"))
                << "\n";
            out << "  last result  "
                << (last ? last->kind + " " + std::to_string(last->id) + " " + last->state + " at " + when(last->finished) + ": " + last->reason : std::string("-"))
                << "\n";
        }
        first = false;
    }
    if (r.json) out << (first ? "]\n" : "\n]\n");
    return out.str();
}

Result<std::string> jobs(DaemonClient& client, const CliRequest& r) {
    Inventory inv;
    auto selected = cards(client, inv, r);
    if (!selected) return std::move(selected).error();
    std::ostringstream out;
    if (r.json) out << "[";
    else out << "CARD  ID    KIND      FROM           TO             STATE        STARTED              REASON\n";
    bool first = true;
    for (const BusObject* card : *selected) {
        auto rows = client.listFirmwareUpdates(card->path, 1000);
        if (!rows) return std::move(rows).error();
        for (const auto& u : *rows) {
            if (r.json) {
                out << (first ? "\n " : ",\n ") << "{\"card\": " << card->number("Index") << ", \"update\": " << rowJson(u) << "}";
            } else {
                char line[256];
                std::snprintf(line, sizeof line, "%-5llu %-5llu %-9s %-14s %-14s %-12s %-20s ", static_cast<unsigned long long>(card->number("Index")),
                              static_cast<unsigned long long>(u.id), u.kind.c_str(), (u.fromVersion + "/" + std::to_string(u.fromBank)).c_str(),
                              (u.toVersion + "/" + std::to_string(u.toBank)).c_str(), u.state.c_str(), when(u.started).c_str());
                out << line << u.reason << "\n";
            }
            first = false;
        }
    }
    if (r.json) out << (first ? "]\n" : "\n]\n");
    return out.str();
}

std::string stageOf(unsigned percent) {
    if (percent < 85) return "writing";
    if (percent == 86) return "staged, waiting for the VFs to be idle";
    if (percent < 92) return "activating";
    if (percent < 100) return "checking the new firmware";
    return "done";
}

// The job to its end with a bar on a terminal, then the card's record of it.
Result<std::string> follow(DaemonClient& client, const BusObject& card, const std::string& job, const CliRequest& r, const std::string& what) {
    const bool tty = !r.quiet && ::isatty(STDERR_FILENO) == 1;
    auto done = client.waitForJob(job, [&](unsigned percent) {
        if (!tty) return;
        const unsigned filled = percent * 30 / 100;
        std::cerr << "\r" << what << " [" << std::string(filled, '#') << std::string(30 - filled, '.') << "] " << percent << "% " << stageOf(percent) << "\033[K"
                  << std::flush;
    });
    if (tty) std::cerr << "\r\033[K" << std::flush;
    if (!done) return std::move(done).error();
    if (r.quiet) return std::string();
    auto rows = client.listFirmwareUpdates(card.path, 1);
    if (!rows) return std::move(rows).error();
    if (rows->empty()) return cardLabel(card) + ": done\n";
    const auto& u = rows->front();
    return cardLabel(card) + ": " + u.kind + " " + std::to_string(u.id) + " " + u.state + ": " + u.reason + "\n";
}

Result<std::string> change(DaemonClient& client, const CliRequest& r) {
    Inventory inv;
    auto selected = cards(client, inv, r);
    if (!selected) return std::move(selected).error();
    const BusObject& card = *selected->front();
    if (r.mode == CliRequest::Mode::FirmwareUpdate) {
        // Non-blocking: a FIFO named as the image must not hang aismi before it is refused.
        const int fd = ::open(r.image.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            const int err = errno;
            return makeError(Errc::FileUnreadable, "cannot open the image " + r.image + ": " + std::strerror(err));
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            return makeError(Errc::FileUnreadable, "cannot read the image " + r.image + ": not a regular file");
        }
        auto job = client.updateFirmware(card.path, fd, {r.activate, r.allowOlder, r.force, r.allowReinstall});
        ::close(fd);  // sent: aismid holds its own copy of the descriptor
        if (!job) return std::move(job).error();
        return follow(client, card, *job, r, "updating " + cardLabel(card));
    }
    const bool rollback = r.mode == CliRequest::Mode::FirmwareRollback;
    auto job = client.activateFirmware(card.path, r.force, rollback);
    if (!job) return std::move(job).error();
    return follow(client, card, *job, r, (rollback ? "rolling back " : "activating ") + cardLabel(card));
}

}  // namespace

Result<std::string> runFirmware(DaemonClient& client, const CliRequest& r) {
    switch (r.mode) {
    case CliRequest::Mode::FirmwareShow: return show(client, r);
    case CliRequest::Mode::FirmwareJobs: return jobs(client, r);
    default: return change(client, r);
    }
}

}  // namespace aismi::cli
