// What a client can make aismid hold or do, bounded: each limit is named here, once, checked
// where the input arrives, and tested. docs/security.md ("Limits") lists them with their tests.
#pragma once

#include <cstddef>
#include <cstdint>

namespace aismi::limits {

/// A file aismid reads from a path or directory it is given (aismid.conf, profiles.d/*.conf,
/// layouts.d/*.conf): larger is refused, so a link to /dev/zero or a huge file cannot bloat it.
inline constexpr size_t kMaxConfigFileBytes = size_t{1} << 20;
/// A trusted firmware key (firmware-keys.d/*.pem): a public key in PEM is a few KiB.
inline constexpr size_t kMaxKeyFileBytes = 64 * 1024;

/// Any string argument of a D-Bus call (a tenant, a reason, a profile or driver name, a layout,
/// an option's name or value), checked before anything acts on it. Tighter limits of each
/// kind (a tenant's 64 characters) are checked after it, where the kind is understood.
inline constexpr size_t kMaxBusString = 4096;
/// Manager1.CheckDomainStart's domain XML (libvirt's own domain XML, which the hook passes on).
inline constexpr size_t kMaxDomainXml = size_t{1} << 20;
/// Elements of any array or dictionary argument (Query's property names, ListEvents' types,
/// an options dictionary).
inline constexpr size_t kMaxBusArray = 1024;
/// Jobs queued or running at once (each change is one; a card or VF takes one at a time).
inline constexpr size_t kMaxActiveJobs = 256;
/// Finished jobs kept for clients to read (and for how long, seconds).
inline constexpr size_t kMaxFinishedJobs = 100;
inline constexpr int64_t kFinishedJobSeconds = 600;
/// Finished operations the journal keeps (open ones are always kept: they are what recovery
/// finishes after a crash; finished ones are only history, which the event log tells).
inline constexpr size_t kMaxFinishedOperations = 100;
/// VFs one layout may ask for, in all.
inline constexpr unsigned kMaxLayoutVfs = 256;
/// Tenants with a quota, and a tenant name's length.
inline constexpr size_t kMaxTenants = 10000;
inline constexpr size_t kMaxTenantLength = 64;
/// Events one ListEvents returns; the history keeps at most --events-keep (itself at most
/// kMaxEventsKept) and none older than --events-max-age.
inline constexpr uint32_t kMaxEventsListed = 100000;
inline constexpr unsigned kMaxEventsKept = 10000000;
/// Connections the metrics endpoint serves at once (the oldest one still waiting for its
/// request makes room for a new one), and a request's line and headers.
inline constexpr unsigned kMaxMetricsConnections = 32;
inline constexpr size_t kMaxMetricsRequestBytes = 8192;

}  // namespace aismi::limits
