// aismi-chaos's tester: the world it drives, its clients, its reference model and its checks
// (chaos.cpp says what it does; docs/reliability.md the model and the invariants). One class,
// its parts in one file each:
//   chaos.cpp    the run, the report, the options and main
//   world.cpp    the conductor: faults, power, hung writes, crashes, libvirt's world, layouts
//                declared with SIGHUP, an unprivileged user
//   clients.cpp  the client threads' calls, the model's updates, the checks of every answer
//   checks.cpp   quiescent points: desired equals actual, the model holds, aismid and libvirt
//                agree, isolation, bounds
#pragma once

#include "bus_client.hpp"
#include "libvirt_world.hpp"
#include "register.hpp"
#include "stack.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace aismi::chaos {

using test::Stack;


inline constexpr const char* kVf1 = "org.aismi.VirtualFunction1";
inline constexpr const char* kCard1 = "org.aismi.Card1";
inline constexpr const char* kManager1 = "org.aismi.Manager1";
inline constexpr const char* kManagerPath = "/org/aismi/Manager1";
inline constexpr unsigned kUnprivileged = 65534;
inline const std::vector<std::string> kTenants{"t0", "t1", "t2", ""};
inline const std::vector<std::string> kProfiles{"eighth", "quarter"};

struct Options {
    uint64_t seed = 0;
    unsigned seconds = 0;  // 0: AISMI_CHAOS_SECONDS, or 120 (20 in brief builds)
    uint64_t steps = 0;    // 0: no limit but time
    unsigned clients = 4;
    unsigned checkEvery = 15;
    std::string history;  // where to write every step as it happens ("": nowhere)
    unsigned cards = 3;
    unsigned vfs = 8;
};
extern Options gOptions;

struct Provisioning {
    std::string profile, tenant;
    bool operator==(const Provisioning&) const = default;
};
inline std::string text(const Provisioning& p) { return p.profile.empty() ? "nothing" : p.profile + (p.tenant.empty() ? "" : " for " + p.tenant); }

// One step of the history, as a command a developer can paste into a shell or a test.
struct Step {
    double at = 0;
    std::string who, command, outcome;
    std::set<std::string> touches;  // "card1", "vf1:3", "tenant t0", "world"
};

// The reference model: one register per object the clients change.
struct Model {
    struct Card {
        Register<unsigned> count;
        std::vector<Register<Provisioning>> vfs;
        std::vector<Register<bool>> quarantined;
        std::vector<Register<std::string>> holders;  // kubelet's holds ("" none)
        std::vector<Register<std::string>> domains;  // the libvirt domain it is assigned to ("" none)
        // An assignment that gave the VF its tenant (its release, or libvirt freeing it, takes
        // the tenant back): the store's tenant_given, or an acknowledged assign with a tenant.
        std::vector<bool> tenantGiven;
        Register<std::string> oversubscription;      // the compute ratio, "1.50"
        Register<std::string> firmware;              // the version the card runs
    };
    std::vector<Card> cards;
    // The recovery policy's keys the clients set (SetRecoveryPolicy sets some, the rest stay).
    Register<bool> autoReset;
    Register<unsigned> guardResets;
    // A tenant's VFs may exceed its quota only as far as a quota in effect since the last
    // check allowed (a quota may be lowered under the VFs a tenant holds).
    struct Tenant {
        uint64_t allowance = UINT64_MAX;  // UINT64_MAX: no limit
    };
    std::map<std::string, Tenant> tenants;
};

// The firmware images the clients send: made at the start with a key aismid trusts, one it
// does not, and a damaged copy (the last two must be refused and change nothing).
struct FirmwareImage {
    std::string path, version;
    bool acceptable = true;
};

class Chaos {
public:
    Chaos(Stack& stack, uint64_t seed, std::vector<FirmwareImage> images, LibvirtWorld* libvirt)
        : stack_(stack), seed_(seed), world_(seed), images_(std::move(images)), libvirt_(libvirt) {
        if (!gOptions.history.empty()) historyFile_.open(gOptions.history, std::ios::trunc);
        model_.cards.resize(gOptions.cards);
        for (auto& c : model_.cards) {
            c.vfs.resize(gOptions.vfs);
            c.quarantined.resize(gOptions.vfs);
            c.holders.resize(gOptions.vfs);
            c.domains.resize(gOptions.vfs);
            c.tenantGiven.resize(gOptions.vfs);
        }
    }

    void run(double seconds);

    size_t violations() const { return violations_.size(); }

private:
    // ---- the world ---------------------------------------------------------------------

    void setUp();

    bool stepLimitReached() const { return gOptions.steps && steps_ >= gOptions.steps; }

    // The conductor's steps: the world outside, crashes, and an unprivileged user.
    void worldStep();

    // libvirt's world: VMs started and stopped, undefined, edited by hand, libvirtd restarted.
    void libvirtStep();

    // The newest event's id (0: none yet); nothing when aismid does not answer.
    std::optional<uint64_t> lastEventId();

    // Within 10 s of a fault that stops VF `vf`, an event names it (or the VF is gone: a
    // client took the card's VFs away meanwhile).
    void faultShown(unsigned card, unsigned vf, const std::string& fault, uint64_t after);

    // A write to the hardware hangs (the Nth from now, whichever card it goes to): that card's
    // strand waits, its readings age, and its health must stop saying "ok" once they are older
    // than health-stale-polls intervals (3 x 200 ms here).
    void stall();

    // Health is never "ok" on a reading older than the staleness limit (plus 2 s of slack: the
    // loop judges it every poll interval, and is never blocked that long).
    void healthHonest(BusClient& bus, unsigned card);

    // A card that stops answering is shown so within a bound, and comes back.
    void lostAndBack(unsigned card);

    // Fleet tooling declares a layout for the card in layouts.d and reloads aismid (SIGHUP), then
    // takes it back (so no later restart applies it again). aismid applies it by itself, when
    // the card's VFs are not in use: the card is not modelled until the next check.
    void declareLayout(unsigned card);

    void crash();

    void pause();

    void restart();

    bool daemonUp() { return stack_.daemonState() == "running"; }

    // Whether aismid died on its own: never.
    void watchDaemon();

    // Every change an unprivileged user asks for is refused, and nothing changes.
    void unprivileged(unsigned card);

    // ---- clients ------------------------------------------------------------------------

    void client(unsigned id, double end);

    void clientStep(BusClient& bus, std::mt19937_64& rng, const std::string& who);

    // A VF for a VM: assigned to a libvirt domain (for a tenant now and then, which gives the
    // VF that tenant), bound to vfio-pci or back to its host driver; now and then a domain
    // name libvirt does not allow, one it does not have, or a driver that is not offered.
    void libvirtCall(BusClient& bus, std::mt19937_64& rng, const std::string& who, unsigned card, unsigned vf);

    // Isolation, call by call: the VM or pod given a VF leaves a trace in its memory (unique to
    // this use); once a Release is answered, no trace left before it was asked for is there.
    void leaveTrace(unsigned card, unsigned vf, const std::string& who);

    void traceGone(unsigned card, unsigned vf, const Reply& release, const std::string& who, const std::set<std::string>& touches);

    // Firmware, as an operator runs it: `aismi firmware ...` processes (they follow the update's
    // job to its end). An update that is answered with success and activated now runs its
    // version; one that fails is rolled back (the card runs what it ran); an image aismid must
    // not take is refused. Activate and rollback switch banks: not modelled to the version.
    void firmware(std::mt19937_64& rng, const std::string& who, unsigned card);

    // The recovery policy: two of its keys, now and then out of range or unknown (refused).
    void recoveryPolicy(BusClient& bus, std::mt19937_64& rng, const std::string& who);

    // Cancels a job the caller follows: refused once it cannot stop (a layout that runs, a VF
    // count being written); its end then says what happened.
    void cancelJob(BusClient& bus, const std::string& job, const std::string& who, const std::set<std::string>& touches);

    // Cancels a job someone else follows (a firmware update being written can stop): the one
    // who follows it sees its end, and the model follows that.
    void cancelAnyJob(BusClient& bus, std::mt19937_64& rng, const std::string& who);

    // Runs `aismi ARGS` as root: its answer as a Reply (exit 0: ok; aismid gone under it: lost;
    // killed by the runner's timeout: no answer; else a refusal named by its exit code).
    Reply runAismi(const std::vector<std::string>& args, const std::string& who, const std::set<std::string>& touches);

    void read(BusClient& bus, std::mt19937_64& rng, const std::string& who, unsigned card, unsigned vf);

    void applyLayout(BusClient& bus, unsigned card, const std::string& layout, const std::string& who, bool cancel);

    // Follows a job to its end: its final state ("done", "failed", "cancelled"; "" when aismid
    // went away first) and when the tester saw it (kNever then).
    std::pair<std::string, double> followJob(BusClient& bus, const std::string& path, const std::string& who, const std::set<std::string>& touches);

    // ---- the model's updates ----------------------------------------------------------

    void writeVf(unsigned card, unsigned vf, const Provisioning& p, const Reply& r, bool stands);

    void writeHolder(unsigned card, unsigned vf, const std::string& holder, const Reply& r);

    // A VF given to a domain, or taken back (`domain` ""): taking it back also takes back a
    // tenant the assignment gave it.
    void writeDomain(unsigned card, unsigned vf, const std::string& domain, const Reply& r);

    void writeQuarantine(unsigned card, unsigned vf, bool on, const Reply& r);

    void writeCount(unsigned card, unsigned count, const Reply& r);

    // `lock`: take modelLock_ (false: the caller holds it).
    void forgetCard(unsigned card, bool lock = true);

    // ---- per-call checks ----------------------------------------------------------------

    // Every call is answered in time, with a named error when it is refused.
    void answered(const Reply& r, const std::string& who, const std::string& command, const std::set<std::string>& touches);

    void refusedBadInput(const Reply& r, const std::string& what, const std::set<std::string>& touches);
    // "provisioned, but its reset and scrub failed" (or "released ..."): the change stands, the
    // VF is out of use until a scrub succeeds.
    static bool madeButNotScrubbed(const Reply& r) { return !r.ok() && r.message.find(", but its reset and scrub failed") != std::string::npos; }

    // ---- quiescent checks ---------------------------------------------------------------

    void quiesce(const std::function<void()>& body);

    void resumeClients();

    struct Seen {
        std::map<unsigned, std::string> serial;
        std::map<unsigned, unsigned> enabled;
        std::map<std::pair<unsigned, unsigned>, Provisioning> vfs;
        std::map<std::pair<unsigned, unsigned>, bool> quarantined, scrubPending;
        std::map<std::pair<unsigned, unsigned>, std::string> holder, domain, address;
        std::map<unsigned, std::string> oversubscription;
        std::map<unsigned, std::string> firmware;
        bool autoReset = false;
        unsigned guardResets = 0;
    };

    // Who uses a VF: its tenant, and the VM (libvirt domain) or pod (kubelet) it is in.
    struct Owner {
        std::string tenant, consumer;
        std::string pattern() const { return "mem-" + tenant + "." + consumer; }  // aismi-sim takes letters, digits, "-_."
        std::string text() const {
            const std::string t = tenant.empty() ? "no tenant" : "tenant " + tenant;
            return consumer.empty() ? t : t + " in " + consumer;
        }
    };
    static std::string consumerOf(const Seen& seen, const std::pair<unsigned, unsigned>& key) {
        if (auto d = seen.domain.find(key); d != seen.domain.end() && !d->second.empty()) return "domain-" + d->second;
        if (auto h = seen.holder.find(key); h != seen.holder.end() && !h->second.empty()) return "holder-" + h->second;
        return "";
    }

    Seen observe(BusClient& bus);

    // Faults cleared, aismid up: within a bound every card is as desired, and the model holds.
    void check(bool first);

    std::string unsettled(const std::string& db);

    // aismid and libvirt agree: every VF aismid says a domain has is in that domain's XML, and
    // every one of aismid's VFs in a domain's XML is that domain's in aismid (adopted), or
    // aismid reports the conflict in the VF's health reasons (in two domains, held by kubelet).
    std::string disagreementWithLibvirt(BusClient& bus);

    static std::string healthReasons(BusClient& bus, const std::string& path);
    std::string eventsAbout(unsigned card, unsigned vf);

    void compare(const Seen& seen, const std::string& db);

    static uintmax_t storeSize(const std::string& db);
#if defined(__SANITIZE_ADDRESS__)
    static constexpr long kRssBoundKib = 768 * 1024;
#else
    static constexpr long kRssBoundKib = 160 * 1024;
#endif
    static constexpr uintmax_t kStoreBoundBytes = uintmax_t{64} << 20;

    // Where aismid serves /metrics (a new port after each start). Conductor only.
    std::string metricsAddress();

    // ---- the report ---------------------------------------------------------------------

    void record(const std::string& who, const std::string& command, const std::string& outcome, const std::set<std::string>& touches);

    // A violation, with the steps since the last good check that touched what it is about (and
    // the world's): the shortest history that explains it, as commands to paste.
    void violation(const std::string& what, const std::set<std::string>& about, std::optional<double> around = std::nullopt);

    void summary();

    template <class V>
    static std::string list(const std::vector<V>& values) {
        std::string out;
        for (const auto& v : values) {
            if (!out.empty()) out += " or ";
            if constexpr (std::is_same_v<V, Provisioning>) out += text(v);
            else if constexpr (std::is_same_v<V, std::string>) out += "'" + v + "'";
            else out += std::to_string(v);
        }
        return out.empty() ? "nothing" : out;
    }
    static std::string quoted(const std::string& s) {
        std::string out = "'";
        for (char ch : s) {
            if (static_cast<unsigned char>(ch) < 0x20) {
                char hex[8];
                std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(ch));
                out += "'$'" + std::string(hex) + "''";
            } else {
                out += ch;
            }
        }
        return out + "'";
    }
    static std::string busctl(const std::string& path, const char* interface, const char* member, const std::string& args) {
        return std::string("busctl --system call org.aismi.Manager1 ") + path + " " + interface + " " + member + (args.empty() ? "" : " " + args);
    }
    static std::string tail(const std::string& log) { return log.size() > 6000 ? log.substr(log.size() - 6000) : log; }
    // The last lines of aismid's log (since the test began) that mention `what`.
    std::string logAbout(const std::string& what, size_t lines = 40);

    Stack& stack_;
    const uint64_t seed_;
    std::mt19937_64 world_;
    const std::vector<FirmwareImage> images_;
    LibvirtWorld* const libvirt_;  // null: no libvirt (not root)
    std::map<std::string, std::pair<unsigned, unsigned>> vfAt_;  // a VF's PCI address -> card, VF (as aismid last said; conductor only)
    std::ofstream historyFile_;
    std::mutex modelLock_, historyLock_, violationsLock_, daemonLock_, metricsLock_, tallyLock_;
    std::map<std::string, std::array<uint64_t, 3>> tally_;  // per kind of call: ok, refused, no answer (aismid away)
    Model model_;
    std::map<std::pair<unsigned, unsigned>, Owner> marks_;  // VF -> the user whose memory it holds
    std::mutex tracesLock_;
    std::map<std::pair<unsigned, unsigned>, std::vector<std::pair<std::string, double>>> traceLog_;  // VF -> traces, when left
    std::atomic<uint64_t> traces_{0};
    std::vector<Step> history_;
    std::vector<std::string> violations_;
    std::atomic<uint64_t> steps_{0}, checks_{0}, faults_{0}, crashes_{0};
    uint64_t quiescentPoints_ = 0;
    std::atomic<double> lastCheck_{0};
    long baselineFds_ = 0, baselineRss_ = 0;
    uintmax_t baselineStore_ = 0, storeBytes_ = 0;
    bool stopped_ = false;
    std::string metrics_;
    pid_t metricsPid_ = -1;
    // Pausing the clients for a quiescent point.
    std::mutex pauseLock_;
    std::condition_variable resume_, idle_;
    bool paused_ = false;
    std::atomic<bool> stop_{false};
    std::array<std::atomic<bool>, 16> restoring_{};  // per card: power-cycled since the last check
    std::atomic<int> active_{0};
};

}  // namespace aismi::chaos
