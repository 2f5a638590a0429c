#include "event_history.hpp"

#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "log.hpp"
#include "snapshot.hpp"

#include <aismi/text.hpp>
#include "transitions.hpp"

#include <systemd/sd-journal.h>
#include <sys/uio.h>

#include <cstdlib>
#include <ctime>
#include <vector>

namespace aismi {
namespace {

constexpr unsigned kPruneEvery = 10;  // appends between two prunes: the history holds at most keep + 9

bool underJournal() {
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    return journal;
}

// syslog(3) priorities, as the journal keeps them.
int priorityOf(Severity s) { return s == Severity::Critical ? 2 : s == Severity::Warning ? 4 : 6; }

// The log line of an event: its device, then the message; aismid's own events are already
// prefixed with "aismid: " by the log ("aismid: aismid: starting" said it twice).
std::string logLine(const StoredEvent& e) { return e.device == "aismid" ? e.message : e.device + ": " + e.message; }

void writeToJournal(const StoredEvent& e) {
    const auto fields = journalFields(e);
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (const auto& f : fields) iov.push_back(iovec{const_cast<char*>(f.data()), f.size()});
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0) log::warning(logLine(e));
}

}  // namespace

std::vector<std::string> journalFields(const StoredEvent& e) {
    std::vector<std::string> f{"MESSAGE=" + e.device + ": " + e.message,
                               "PRIORITY=" + std::to_string(priorityOf(e.severity)),
                               "MESSAGE_ID=" + std::string(eventMessageId(e.type)),
                               "AISMI_EVENT=" + std::string(eventTypeName(e.type)),
                               "AISMI_EVENT_ID=" + std::to_string(e.id),
                               "AISMI_SEVERITY=" + std::string(severityName(e.severity))};
    if (e.card) f.push_back("AISMI_CARD=" + std::to_string(*e.card));
    if (e.vf) f.push_back("AISMI_VF=" + std::to_string(*e.vf));
    if (!e.address.empty()) f.push_back("AISMI_PCI_ADDRESS=" + e.address);
    return f;
}

EventHistory::EventHistory(EventBus& events, EventRepository& repository, Limits limits)
    : bus_(events), repository_(repository), limits_(limits) {
    now = [] { return static_cast<int64_t>(std::time(nullptr)); };
    events.subscribe<HealthChanged>([this](const HealthChanged& e) {
        const Severity s = e.now == Health::Ok ? Severity::Info : e.now == Health::Critical || e.now == Health::Lost ? Severity::Critical : Severity::Warning;
        record(Notice{EventType::Health, s, e.card.label(),
                      "health " + std::string(healthName(e.now)) + (e.reasons.empty() ? "" : ": " + text::join(e.reasons, "; ")), e.card.index});
    });
    events.subscribe<CardUpdated>([this](const CardUpdated& e) {
        const auto notices = transitions(e.before, e.now);
        if (notices.empty()) return;
        // A card reset changes every VF at once: their events land with one disk sync.
        if (auto r = repository_.inOneTransaction([&] {
                for (const auto& n : notices) record(n);
            });
            !r)
            log::error(r.error().message);
    });
    events.subscribe<Notice>([this](const Notice& n) { record(n); });
}

void EventHistory::record(const Notice& n) {
    if (n.severity != Severity::Info) {
        const int64_t t = now();
        auto [it, first] = repeats_.try_emplace(RepeatKey{static_cast<int>(n.type), n.device, n.message},
                                                Repeat{t, 0, n.card, n.vf, static_cast<int>(n.severity)});
        if (!first) {
            if (t - it->second.recordedAt < limits_.repeatWindowSeconds) {
                ++it->second.suppressed;
                ++suppressedTotal_;
                return;
            }
            const uint64_t before = it->second.suppressed;
            it->second.recordedAt = t;
            it->second.suppressed = 0;
            if (before) return store(n, n.message + " (and " + std::to_string(before) + " more time(s) in the " + std::to_string(limits_.repeatWindowSeconds) + " s before)");
        }
    }
    store(n, n.message);
}

void EventHistory::store(const Notice& n, const std::string& text) {
    // An error passed on whole often starts with the device it is about: the event names it once.
    const std::string prefix = n.device + ": ";
    const std::string message = text.starts_with(prefix) ? text.substr(prefix.size()) : text;
    StoredEvent e{0, now(), n.type, n.severity, n.card, n.vf, n.card && addressOf ? addressOf(*n.card, n.vf) : std::string(), n.device, message};
    if (auto r = repository_.append(e); !r) {
        log::error(r.error().message);
        e.id = 0;  // not kept; still logged and signalled
    }
    if (underJournal()) writeToJournal(e);
    else if (e.severity == Severity::Info) log::info(logLine(e));
    else log::warning(logLine(e));
    bus_.publish(EventRecorded{e});
    if (++sincePrune_ >= kPruneEvery) prune();
}

void EventHistory::sweep() {
    const int64_t t = now();
    for (auto it = repeats_.begin(); it != repeats_.end();) {
        if (t - it->second.recordedAt < limits_.repeatWindowSeconds) {
            ++it;
            continue;
        }
        if (it->second.suppressed) {
            // A warning that stopped repeating: say how often it came, once.
            const auto& [type, device, message] = it->first;
            const Repeat& r = it->second;
            store(Notice{static_cast<EventType>(type), static_cast<Severity>(r.severity), device, message, r.card, r.vf},
                  message + " (repeated " + std::to_string(r.suppressed) + " more time(s) in " + std::to_string(t - r.recordedAt) + " s)");
        }
        it = repeats_.erase(it);
    }
}

Result<std::vector<StoredEvent>> EventHistory::list(const EventFilter& filter) { return repository_.list(filter); }

void EventHistory::prune() {
    sincePrune_ = 0;
    if (auto r = repository_.prune(limits_.keep, limits_.maxAgeSeconds); !r) log::error(r.error().message);
}

}  // namespace aismi
