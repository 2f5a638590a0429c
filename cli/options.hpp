// aismi's command line, parsed into a request. Pure: no bus, no output.
#pragma once

#include "fields.hpp"
#include "render.hpp"

#include <aismi/error.hpp>

#include <optional>
#include <string>
#include <vector>

namespace aismi::cli {

struct CliRequest {
    enum class Mode { Summary, ListCards, Report, QueryCard, QueryVf, HelpQueryCard, HelpQueryVf, VfList, VfEnable, VfDisable, VfProvision, VfUnprovision, VfReset, VfQuarantine, VfUnquarantine, VfBind, VfAssign, VfRelease, ProfileList, QuotaSet, QuotaShow, QuotaRemove, PartitionApply, PartitionShow, PartitionExport, PolicySet, PolicyShow, Events, Health, CardReset, Dmon, FirmwareShow, FirmwareUpdate, FirmwareActivate, FirmwareRollback, FirmwareJobs, Help, Version };
    Mode mode = Mode::Summary;
    std::vector<std::string> hosts;     // -H: run against aismid on these hosts over SSH (none: this one)
    std::vector<std::string> ids;       // -i, as given
    std::vector<std::string> sections;  // -d, upper case
    std::vector<const Field*> fields;   // --query-card / --query-vf
    CsvFormat csv;
    bool json = false;
    unsigned loopSeconds = 0;  // 0: once
    unsigned count = 0;        // vf enable --count
    bool force = false;        // vf enable|disable --force
    std::string target;        // vf provision|unprovision: the VF, as CARD:VF or PCI address
    std::string profile;       // vf provision --profile
    std::string layout;        // partition apply LAYOUT
    std::string layoutFile;    // partition apply --file FILE (read when the command runs)
    bool dryRun = false;       // partition apply --dry-run
    std::string tenant;        // vf provision --tenant; quota set|show|remove TENANT
    // quota set: only the limits given change; UINT64_MAX (`none`) removes a compute or memory limit.
    std::optional<uint64_t> maxVfs;           // --max-vfs
    std::optional<uint64_t> maxComputeUnits;  // --max-compute
    std::optional<uint64_t> maxMemoryMib;     // --max-memory
    std::optional<uint32_t> computeRatio;     // policy set, in hundredths (150: 1.5)
    std::optional<uint32_t> memoryRatio;
    // policy set, the recovery policy (host-wide): nullopt keeps what aismid has
    std::optional<bool> autoReset, autoCardReset;
    std::optional<std::pair<unsigned, unsigned>> resetGuard, cardResetBudget;  // N within SECONDS
    std::optional<int64_t> since;          // events --since, unix seconds
    bool follow = false;                   // events --follow
    std::vector<std::string> eventTypes;   // events --type (aismid checks the names)
    unsigned lines = 0;                    // events --lines (0: the default)
    std::string dmonGroups;                // dmon -s: the column groups (letters of kDmonGroups)
    bool dmonVfs = false;                  // dmon --vf: a line per VF too
    unsigned dmonCount = 0;                // dmon -c: intervals to print (0: until interrupted)
    unsigned dmonDelaySeconds = 1;         // dmon -d: seconds between lines
    std::string reason;        // vf quarantine --reason
    std::string driver;        // vf bind --driver: vfio-pci or host
    std::string domain;        // vf assign --domain; vf list --domain (a filter)
    // firmware update IMAGE [--activate=now|idle|never] [--allow-older] [--allow-reinstall] [--quiet]
    std::string image;          // firmware update: the image file
    std::string activate;       // "" for aismid's default (idle)
    bool allowOlder = false;
    bool allowReinstall = false;  // firmware update: the version that runs already
    bool quiet = false;         // firmware update|activate|rollback: no progress, no result line
    std::string helpText;      // for Help
};

/// The column groups aismi dmon -s takes, in the order their columns appear.
inline constexpr std::string_view kDmonGroups = "pumev";

Result<CliRequest> parseCli(const std::vector<std::string>& args);
/// Whether a request only reads and ends by itself: what may go to several hosts at once.
bool readsOnce(const CliRequest& r);

}  // namespace aismi::cli
