// The usage texts of aismi --help and of each command group's --help (cli/options.cpp shows
// them). Prose only: the options each command takes are listed from the option tables.
#pragma once

namespace aismi::cli {

inline constexpr const char* kUsage = R"(Usage: aismi [OPTIONS]
       aismi [OPTIONS] vf list|enable|disable|provision|unprovision|reset|quarantine|unquarantine [OPTIONS]
       aismi [OPTIONS] vf bind|assign|release CARD:VF [OPTIONS]
       aismi [OPTIONS] profile list [OPTIONS]
       aismi [OPTIONS] quota set|show|remove [TENANT] [OPTIONS]
       aismi [OPTIONS] partition apply|show|export [LAYOUT] [OPTIONS]
       aismi [OPTIONS] policy set|show [OPTIONS]
       aismi [OPTIONS] health [-i ID[,ID...]] [-j]
       aismi [OPTIONS] reset -i ID [--force]
       aismi [OPTIONS] events [--since TIME] [-i ID[,ID...]] [--type TYPE[,TYPE...]] [--follow] [-j]
       aismi [OPTIONS] dmon [-i ID[,ID...]] [-s GROUPS] [-c COUNT] [-d SECONDS] [--vf] [-j]

Shows and manages AI accelerator cards through aismid, the way nvidia-smi does for GPUs.
With no options: a summary of every card, then every enabled VF. Options may come before or
after the command words.

)";

inline constexpr const char* kHealthUsage = R"(Usage: aismi health [-i ID[,ID...]] [-j]

The health of each card and of its VFs: ok, unknown (the data could not be read, or is
stale), warning, critical or lost, each with its reasons and how old the reading is; which
VFs are quarantined and how many automatic resets their guard has left; and the card's
recent resets and quarantines from the event history.

)";

inline constexpr const char* kResetUsage = R"(Usage: aismi reset -i ID [--force]

Resets a whole card: the PF's function-level reset, which takes every VF with it (never a bus
reset, which would reach other devices). Refused while a VF is in use (a workload runs on it,
it is provisioned for a tenant, or bound to vfio-pci) unless --force. Clients are told first
(an event of type card-reset); afterwards aismid reads the card again and puts its VF count
and provisioning back. To reset one VF without touching the others: aismi vf reset CARD:VF.

)";

inline constexpr const char* kFirmwareUsage = R"(Usage: aismi firmware show [-i ID[,ID...]] [-j]
       aismi firmware update -i ID IMAGE [--activate=now|idle|never] [--allow-older] [--allow-reinstall] [--force] [--quiet]
       aismi firmware activate -i ID [--force] [--quiet]
       aismi firmware rollback -i ID [--force] [--quiet]
       aismi firmware jobs [-i ID[,ID...]] [-j]

Firmware updates that cannot brick a card (docs/firmware.md). Each card has two firmware
banks: the one it runs and a spare.
  show      both banks (version, integrity, hash), the bank it runs and boots, the last
            one-shot try, the self-test, the last update and the one staged or under way.
  update    checks IMAGE (signed by a key in aismid's firmware-keys directory, for this card,
            not older than what runs unless --allow-older, not what runs already unless
            --allow-reinstall) before anything touches the card,
            writes the spare bank, reads it back, then activates it: the card is reset into
            the new firmware once, which must come up and stay healthy before it is committed;
            otherwise the card goes back to the firmware it ran and the update is reported as
            rolled back (exit code 23). --activate=now resets the card at once (refused while
            VFs are assigned, bound to vfio-pci or running, unless --force); idle (the
            default) waits until none is; never only stages it. A progress bar is shown on a
            terminal; --quiet prints nothing but errors.
  activate  runs the staged update (written with --activate=never).
  rollback  switches to the other bank's firmware, checked and committed the same way.
  jobs      the updates, activations and rollbacks of each card, newest first.

Images are made and signed with aismi-firmware-pack(1). The image goes to aismid as an open file descriptor, never a path: aismid reads only what
you could open. That needs the local bus (not -H).

)";

inline constexpr const char* kEventsUsage = R"(Usage: aismi events [--since TIME] [-i ID[,ID...]] [--type TYPE[,TYPE...]] [--lines N] [--follow] [-j]

The event history aismid keeps: state changes, health transitions, resets, quarantines,
policy actions and every change made through it, oldest first. Without --since, the newest
N events (--lines, 1000 by default; 10 with --follow). --follow then prints each new event
as aismid signals it, until interrupted; with -j each event is one JSON object on a line of
its own. TIME: "2026-11-24 18:00[:SS]", "18:00" (today), "today", "yesterday", "10m ago",
"-2h", "3d ago" or "@UNIXSECONDS". Types: daemon, reconcile, card-added, card-moved,
card-replaced, discovery, poll-failed, health, vf-state, vf-health, ecc, thermal, vf-count,
provision, layout, policy, quota, reset, auto-reset, quarantine, unquarantine, card-reset.

)";

inline constexpr const char* kDmonUsage = R"(Usage: aismi dmon [-i ID[,ID...]] [-s GROUPS] [-c COUNT] [-d SECONDS] [--vf] [-j]

Streams one line per card (and per VF with --vf) every SECONDS (default 1), COUNT times
(default: until interrupted), as nvidia-smi dmon does; the header comes again every screenful.
The values are the latest aismid has, kept current from its PropertiesChanged signals (aismi
does not poll it). "-" is a value the card does not report. GROUPS, letters (default pumev):
  p  power (W) and temperature (C)
  u  utilisation (%)
  m  memory used and total, or given to a VF (MiB)
  e  ECC errors corrected and uncorrected; PCIe AER correctable, non-fatal, fatal (cards)
  v  VFs enabled, running, hung and quarantined (cards); state (VFs); health
With -j every line is one JSON object with the time, the card (and VF) and the columns.

)";

inline constexpr const char* kVfUsage = R"(Usage: aismi vf list [-i ID[,ID...]] [--domain NAME] [-j]
       aismi vf enable -i ID --count N [--force]
       aismi vf disable -i ID [--force]
       aismi vf provision CARD:VF --profile NAME [--tenant TENANT]
       aismi vf unprovision CARD:VF
       aismi vf reset CARD:VF [--force]
       aismi vf quarantine CARD:VF [--reason TEXT]
       aismi vf unquarantine CARD:VF
       aismi vf bind CARD:VF --driver vfio-pci|host
       aismi vf assign CARD:VF --domain NAME [--tenant TENANT]
       aismi vf release CARD:VF

Lists SR-IOV virtual functions (of cards named by index, PCI address or serial, or single
VFs as CARD:VF or by PCI address), enables N of a card's VFs, or disables them all. The
kernel changes the count only from 0: disable before enabling a different number. VFs in use
(provisioned for a tenant, or bound to vfio-pci) stop it unless --force. Enabling shows its
progress on a terminal.

provision gives one VF a profile's resources (aismi profile list shows them and what fits),
for a tenant if given; unprovision takes them back (the VF stays, holding nothing). Neither
touches the card's other VFs; a VF with a running workload or bound to vfio-pci is refused.

reset gives one VF a function-level reset — never a bus or card reset, so its neighbours keep
running — and checks that it answers as itself again with its provisioning; a VF with a
running workload or bound to vfio-pci needs --force. aismid resets a hung VF by itself, at
most N times in a window (aismid.conf reset-guard); past that it quarantines the VF: not reset
automatically, not provisioned, until unquarantine releases it. quarantine takes a VF out of
use by hand the same way.

bind hands a VF to vfio-pci (its IOMMU group must be viable) or back to the driver the kernel
picks (host), as virsh nodedev-detach and nodedev-reattach do; refused while it is assigned.
assign gives a provisioned, free VF to a libvirt domain for a tenant (--tenant, else the
domain's metadata, else the VF's provisioning) within the tenant's quota: it binds it to
vfio-pci and adds a <hostdev managed='no'> to the domain, live and persistent as the domain
is; any failure undoes every step. release takes it back from the domain, resets and scrubs
it so nothing passes to the next tenant, and returns it to its host driver. A domain that
stops has its VFs scrubbed; one that is undefined frees them. vf list shows each VF's domain
(--domain: only that domain's VFs). docs/libvirt.md.

)";

inline constexpr const char* kProfileUsage = R"(Usage: aismi profile list [-i ID[,ID...]] [-j]

Lists the VF profiles (built in: whole, half, quarter, eighth of a card; more from
/etc/aismi/profiles.d) with each one's resources on each card and how many more VFs of it fit
there now.

)";

inline constexpr const char* kQuotaUsage = R"(Usage: aismi quota set TENANT [--max-vfs N] [--max-compute N|none] [--max-memory SIZE|none]
       aismi quota show [TENANT] [-j]
       aismi quota remove TENANT

Caps what one tenant's provisioned VFs may hold together on this host: how many VFs, and
optionally how many compute units and how much device memory (SIZE: 512, 512M, 8G, 1T; MiB
without a unit; 8Gi and 8g too). set changes only the limits it is given and keeps the others;
none removes a compute or memory limit; a tenant's first quota needs --max-vfs. A provisioning
that would go beyond it is refused with the numbers; a quota set below what the tenant holds
takes nothing away. show lists each quota with what the tenant holds now.

)";

inline constexpr const char* kPartitionUsage = R"(Usage: aismi partition apply -i ID LAYOUT|--file FILE [--dry-run]
       aismi partition show -i ID [-j]
       aismi partition export -i ID

apply lays a card out in one step: LAYOUT is COUNTxPROFILE items, comma separated
(4xquarter,8xeighth; aismi profile list shows the profiles). The VFs are enabled (replacing
the card's VFs if the count differs), then each is provisioned with its profile, in order. It
runs as one job with a progress line on a terminal; a failed step rolls the card back to the
layout it had. --dry-run prints the plan and changes nothing. --file reads the layout from a
file instead: the same items, comma or newline separated, with # comments. show prints each
VF's profile and what the device holds. export prints the card's layout as a layouts.d
section, which aismid applies at start and on reload (docs/partitioning.md).

)";

inline constexpr const char* kPolicyUsage = R"(Usage: aismi policy set -i ID [--compute-oversubscription R] [--memory-oversubscription R]
       aismi policy set [--auto-reset yes|no] [--reset-guard N/SECONDS] [--auto-card-reset yes|no] [--card-reset-budget N/SECONDS]
       aismi policy show [-i ID[,ID...]] [-j]

Sets how far a card may be oversubscribed. A VF's profile guarantees it compute units and may
let it burst higher when the card has idle compute; the guarantees never exceed the card, the
burst caps together may reach R times the card's compute units, and the memory the VFs are
given together R times the card's memory (R: 1.0, the default, is none; compute up to 16,
memory up to 4; at most two decimals). A policy below what the VFs hold already is refused.
show prints each card's policy with what its VFs hold against it (docs/oversubscription.md),
and the recovery policy for hung VFs. The recovery policy is host-wide: whether hung VFs are
reset automatically, at most N times in SECONDS (then quarantined), and whether a VF whose own
reset fails has its whole card reset, at most N times in SECONDS. aismid.conf sets it; set
here, it is kept and wins over aismid.conf's from then on.

)";

}  // namespace aismi::cli
