// The simulated card as data plus the rules of the hardware: SR-IOV enable/disable, FLR,
// workloads and their progress, faults and the telemetry they cause. No I/O here: SimStateDir
// persists it, SimulatedSysfs shows it to libmgmt the way the kernel would.
#pragma once

#include <aismi/card.hpp>
#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aismi::sim {

/// How the simulated hardware is built; fixed when the state directory is created.
struct SimConfig {
    unsigned cards = 2;
    unsigned totalVfs = 16;  // SR-IOV TotalVFs per card, 1..256
    Resources capacity{128, 65536, 8};
    unsigned flrMs = 100;           // PCIe allows a function 100 ms to complete an FLR
    unsigned flrTimeoutMs = 1000;   // how long an FLR that never completes blocks before failing
    unsigned vfEnableUs = 1000;     // per VF created or removed: the kernel adding and probing it
    unsigned vfProvisionUs = 2000;  // per write of a VF's resources: the firmware carving its share
    unsigned flashKibPerS = 16384;  // how fast an uploaded image reaches the flash (16 MiB/s)
    unsigned flashProgramMs = 1000; // after the transfer: programming and checking the bank
    unsigned flashBankKib = 65536;  // the largest image a bank holds (64 MiB)
    double timeFactor = 1.0;        // scales the timings above so tests run fast
    uint16_t vendorId = 0xa15e;     // fictional IDs: no real device is ever matched by mistake
    uint16_t pfDeviceId = 0x0100;
    uint16_t vfDeviceId = 0x0101;

    Result<void> validate() const;
    std::string serialize() const;
    static Result<SimConfig> parse(std::string_view content, std::string_view what);
};

constexpr uint16_t kFirstVfOffset = 4;
constexpr uint16_t kVfStride = 1;

/// Faults an operator injects with `aismi-sim inject`; the names are fixed.
enum class Fault {
    VfHang, FlrFail, FlrTimeout, EccCorrectable, EccUncorrectable, Thermal, LinkDegrade, DeviceLost, FirmwareCorrupt,
    PowerCut, FirmwareWriteError, FlashWearout, FirmwareNoBoot, FirmwareUnhealthy
};
std::string_view faultName(Fault f);
std::optional<Fault> faultFromName(std::string_view name);
const std::vector<Fault>& allFaults();
std::string_view faultDescription(Fault f);
bool faultAppliesToVf(Fault f);
bool faultAppliesToCard(Fault f);

/// One PCI function's state. The PF uses the driver/reset/fault fields only.
struct SimFunction {
    std::string driver;          // bound driver, "" when none
    std::string driverOverride;  // sysfs driver_override, "" when none
    std::string resetMethod;     // "" = the default for this function
    bool flrFail = false;
    bool flrTimeout = false;
    int64_t resettingUntilNs = 0;
    uint64_t resetCount = 0;
    AerCounters aer;
    // VF only:
    Resources resources;
    bool loadOn = false;
    bool hung = false;
    bool errored = false;  // an uncorrectable error stopped the function until it is reset
    uint64_t progressBase = 0;
    uint64_t eccCorrected = 0;
    uint64_t eccUncorrected = 0;
    /// What a tenant left in the VF's memory ("" when it holds nothing): survives an FLR
    /// (device memory is not function state), gone only with a scrub or a power cycle.
    std::string memory;
};

/// Whether `pattern` is something a tenant may write with `aismi-sim vf-memory write`.
bool validMemoryPattern(std::string_view pattern);

/// How the image in a bank behaves when the card boots it.
enum class FirmwareBoot { Ok, NoBoot, Unhealthy };

/// An image on its way to the flash (the firmware-upload class, docs/driver-abi.md): preparing,
/// then transferring (remaining_size counts down at the flash bandwidth), then programming.
/// The target bank is erased when programming starts and holds the image when it ends.
struct SimUpload {
    int64_t startNs = 0;
    uint64_t size = 0;  // bytes of the whole image
    unsigned bank = 0;
    std::string version;
    std::string sha256;
    FirmwareBoot boot = FirmwareBoot::Ok;
    std::string fail;  // "" or the error programming ends with (read-write-error, flash-wearout)
};

enum class UploadPhase { Idle, Preparing, Transferring, Programming };
std::string_view uploadPhaseName(UploadPhase p);

struct SimCard {
    unsigned index = 0;
    std::string serial;
    SimFunction pf;
    std::vector<SimFunction> vfs;  // one per enabled VF: vfs.size() is NumVFs
    int64_t settledNs = 0;         // progress counters are exact up to this instant
    bool thermal = false;
    bool linkDegraded = false;
    bool deviceLost = false;
    uint64_t eccCorrected = 0;  // PF events; the card's totals add the VFs'
    uint64_t eccUncorrected = 0;
    FirmwareState firmware;
    FirmwareBoot bankBoot[2] = {FirmwareBoot::Ok, FirmwareBoot::Ok};
    FirmwareBoot nextImage = FirmwareBoot::Ok;  // armed fault: the next image written boots so
    std::string nextWriteFault;                 // armed fault: the next programming fails so
    bool fwLoading = false;                     // `loading` is 1: data is being written
    std::optional<SimUpload> upload;            // in flight (settled when it ends)
    std::string fwError;                        // the last upload's "<phase>:<error>", or ""

    static SimCard fresh(const SimConfig& config, unsigned index);
    std::string serialize() const;
    static Result<SimCard> parse(std::string_view content, const SimConfig& config, std::string_view what);
};

/// Read-only questions about a card's state: addresses, progress, telemetry.
class SimCardView {
public:
    SimCardView(const SimConfig& config, const SimCard& card) : config_(config), card_(card) {}

    PciAddress pfAddress() const;
    /// Where card `index`'s PF sits, without its state.
    static PciAddress pfAddressOf(unsigned index);
    Result<PciAddress> vfAddress(unsigned vf) const;
    /// Which function of this card `address` is: nullopt for none, -1 for the PF, else the VF.
    std::optional<int> functionAt(const PciAddress& address) const;

    /// The compute units each VF's workload gets (0 when it does not work): every working VF
    /// its guarantee, the rest shared by weight up to each burst cap. For the working set as
    /// of the last settle (it changes only through a change, which settles first).
    std::vector<double> computeShares() const;
    /// A working VF that gets less than its burst cap.
    bool throttled(unsigned vf, const std::vector<double>& shares) const;

    uint64_t progress(unsigned vf, int64_t nowNs) const;
    uint64_t progress(unsigned vf, int64_t nowNs, const std::vector<double>& shares) const;
    VfState vfState(unsigned vf, int64_t nowNs) const;
    bool vfWorking(unsigned vf, int64_t nowNs) const;

    // Telemetry derived from the workload and the faults.
    uint32_t utilizationPct(const std::vector<double>& shares) const;
    uint64_t memoryUsedMib() const;
    uint64_t vfMemoryUsedMib(unsigned vf) const;
    double powerW(int64_t nowNs) const;
    double temperatureC(int64_t nowNs) const;
    uint64_t eccCorrectedTotal() const;
    uint64_t eccUncorrectedTotal() const;

    // The flash as it is at `nowNs`: an upload in flight erases its bank when programming
    // starts and fills it when it ends, whether or not anything settled the card since.
    struct UploadView {
        UploadPhase phase = UploadPhase::Idle;
        uint64_t remaining = 0;
    };
    UploadView uploadAt(int64_t nowNs) const;
    FirmwareState firmwareAt(int64_t nowNs) const;
    /// The last upload's error ("<phase>:<error>") as of `nowNs`, "" when it succeeded.
    std::string uploadErrorAt(int64_t nowNs) const;
    int64_t uploadEndNs() const;
    int64_t programmingStartNs() const;

    const SimCard& card() const { return card_; }
    const SimConfig& config() const { return config_; }

protected:
    /// The units of work VF `vf`'s workload does in `elapsedNs` with `shares`.
    uint64_t workDone(unsigned vf, int64_t elapsedNs, const std::vector<double>& shares) const;

    const SimConfig& config_;
    const SimCard& card_;
};

/// The hardware's behaviour: how a card's state changes.
class SimCardModel : public SimCardView {
public:
    SimCardModel(const SimConfig& config, SimCard& card) : SimCardView(config, card), mutable_(card) {}

    /// Brings every progress counter up to `nowNs`; call before any change.
    void settle(int64_t nowNs);
    /// The kernel's sriov_numvfs rules; returns an errno (0 on success).
    int setNumVfs(unsigned count, int64_t nowNs);
    /// Starts an FLR of function `fn` (-1 = PF). Returns an errno, and how long the write
    /// blocks; a timed-out FLR blocks for the timeout and then fails.
    struct FlrStart {
        int err = 0;
        int64_t blockNs = 0;
        int errAfterBlock = 0;
    };
    FlrStart beginFlr(int fn, int64_t nowNs);

    Result<void> inject(std::optional<unsigned> vf, Fault fault, int64_t nowNs);
    Result<void> clear(std::optional<unsigned> vf, int64_t nowNs);
    Result<void> setLoad(unsigned vf, bool on, int64_t nowNs);
    /// Provisioning through the vendor ABI; returns an errno.
    int provision(unsigned vf, const Resources& r, int64_t nowNs);
    /// A tenant writes `pattern` into VF `vf`'s memory (the VF must answer).
    Result<void> writeMemory(unsigned vf, const std::string& pattern);
    /// The vendor scrub: zeroes VF `vf`'s memory and nothing else's; returns an errno.
    int scrub(unsigned vf);
    /// What a host reboot does: SR-IOV off, every function and fault back to power-on state;
    /// the firmware banks (flash, as they were at that instant) and the serial stay, and the
    /// card boots its boot bank (or the other one, should that bank not boot).
    void powerCycle(int64_t nowNs);

    // Firmware (docs/driver-abi.md): each returns an errno.
    int beginLoading(int64_t nowNs);
    void abortLoading() { mutable_.fwLoading = false; }
    /// `loading` 0: checks the image written to `data` and starts writing the inactive bank.
    /// A bad image ends at once with "preparing:<error>" in `error`.
    int startUpload(std::span<const uint8_t> image, int64_t nowNs);
    int cancelUpload(int64_t nowNs);
    int armTry(std::optional<unsigned> bank, int64_t nowNs);
    int commitFirmware(int64_t nowNs);
    /// What the card's firmware does when it restarts (a PF reset, power-up): boots the armed
    /// try bank once, else the boot bank; falls back to the other bank if that one will not boot.
    void bootFirmware();

    SimFunction& function(int fn) { return fn < 0 ? mutable_.pf : mutable_.vfs.at(static_cast<size_t>(fn)); }
    /// Whether function `fn` (-1: the PF) exists now: a file opened for a VF that a power cycle
    /// or a VF count change removed since is ENODEV to write, as the kernel's sysfs makes it.
    bool hasFunction(int fn) const { return fn < 0 || static_cast<size_t>(fn) < mutable_.vfs.size(); }

private:
    Resources evenShare(unsigned count) const;
    /// Brings the flash up to `nowNs` (an upload that ended is applied); `cut`: power is lost
    /// now, an unfinished upload stops where it is.
    void settleFirmware(int64_t nowNs, bool cut = false);

    SimCard& mutable_;
};

}  // namespace aismi::sim
