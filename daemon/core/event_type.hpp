// What kind of thing an event is: a stable name (the events table, D-Bus, `aismi events -j`,
// the journal's AISMI_EVENT field) and a stable journal MESSAGE_ID per kind, so that
// `journalctl MESSAGE_ID=...` finds every event of one kind. Never rename or renumber one.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace aismi {

enum class Severity { Info, Warning, Critical };
std::string_view severityName(Severity s);

enum class EventType {
    Daemon,        // aismid started, stopped or reloaded
    Reconcile,     // what a restart found and finished (interrupted jobs and operations)
    CardAdded,     // a card appeared
    CardMoved,     // a known card is at a new PCI address
    CardReplaced,  // another card is in a known card's slot
    Discovery,     // looking for cards failed
    PollFailed,    // reading a card failed
    Health,        // a card's health or its reasons changed
    VfState,       // a VF's state changed (idle, running, hung, resetting, error)
    VfHealth,      // a VF's health changed
    Ecc,           // uncorrectable ECC errors appeared on a card or a VF
    Thermal,       // a card crossed a temperature threshold
    VfCount,       // VFs enabled or disabled, or the count drifted and was restored
    Provision,     // a VF was provisioned or unprovisioned, or provisioning restored
    Layout,        // a layout was applied, or a declared one could not be
    Policy,        // a card's oversubscription policy changed
    Quota,         // a tenant quota was set or removed
    Reset,         // a VF was reset on request
    AutoReset,     // a hung VF was reset by the recovery policy
    Quarantine,    // a VF was quarantined past its reset guard
    Unquarantine,  // an operator released a VF from quarantine
    CardReset,     // a whole card is about to be reset, or was
    Driver,        // a VF was bound to another driver
    Assignment,    // a VF was given to a libvirt domain, adopted from one, or taken back
    Scrub,         // a VF's memory was scrubbed (or could not be) before its next tenant
    Conflict,      // a domain's hostdevs disagree with what aismid allows (two domains, a quota, ...)
    Libvirt,       // the connection to libvirt was made, lost or made again
    Firmware,      // a firmware image was written, activated, committed or rolled back
};

std::string_view eventTypeName(EventType t);
/// 32 lowercase hex digits (a systemd sd_id128), one per type.
std::string_view eventMessageId(EventType t);
std::optional<EventType> parseEventType(std::string_view name);
/// Every type, in declaration order.
std::span<const EventType> allEventTypes();

}  // namespace aismi
