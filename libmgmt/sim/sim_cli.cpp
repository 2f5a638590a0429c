#include "sim_cli.hpp"

#include <aismi/text.hpp>
#include "clock.hpp"
#include "sim_state_dir.hpp"
#include "write_freeze.hpp"

#include <cstdlib>
#include <iomanip>
#include <map>
#include <ostream>
#include <sstream>

namespace aismi::sim {
namespace {

constexpr const char* kDefaultDir = "/var/lib/aismi/sim";

constexpr const char* kUsage = R"(Usage: aismi-sim [--dir DIR] COMMAND [ARGS]

Works on the simulated accelerator cards kept in DIR (default $AISMI_SIM_DIR, else
/var/lib/aismi/sim, the directory aismid uses with --backend=sim). The cards are the "hardware": aismid drives them
through the simulated sysfs, while aismi-sim plays the part of the world outside — it builds
them, injects faults and runs workloads on VFs, even while aismid runs.

Commands:
  create [--cards N] [--vfs N] [--compute-units N] [--memory-mib N] [--engines N]
         [--flr-ms MS] [--flr-timeout-ms MS] [--vf-enable-us US]
         [--vf-provision-us US] [--flash-kib-per-s N] [--flash-program-ms MS]
         [--flash-bank-kib N] [--time-factor F]
                              build new cards in DIR (defaults: 2 cards, TotalVFs 16,
                              128 compute units, 65536 MiB, 8 engines, FLR 100 ms,
                              1000 us per VF to enable or disable, 2000 us per
                              write of a VF's resources, flash 16384 KiB/s plus
                              1000 ms programming, 65536 KiB banks; timings x F)
  list                        one line per card
  show CARD[:VF]              everything about a card or one VF
  inject CARD[:VF] FAULT      make the hardware fail (see 'faults')
  clear CARD[:VF]             end every injected fault condition on the target
  load CARD:VF on|off         start or stop a workload on a VF; its progress counter
                              grows while the VF works
  vf-memory write CARD:VF PATTERN
                              play the tenant: leave PATTERN (1 to 64 letters, digits,
                              '-', '_', '.') in the VF's memory; only a scrub removes it
  vf-memory read CARD:VF      what the VF's memory holds ('clean' when nothing)
  power-cycle CARD            what a host reboot does to the card: VFs gone, functions,
                              faults and counters back to power-on state; the flash
                              keeps what it held at that instant and the card boots
                              its boot bank (power-cut, then power-cycle: a power loss)
  faults                      the faults that can be injected
  freeze before|after N       stall the Nth write aismid makes to the cards from now
                              (1 to 1000000), before it takes effect or just after,
                              until 'thaw' or until aismid dies: the crash tests kill
                              aismid there, at exactly that step of an operation
  freeze status               'not armed', 'armed: ...' or 'frozen before|after write
                              N: PATH'
  thaw                        end a freeze: a stalled write goes on

A target is a card index (0), a VF as CARD:VF (0:3), or a PCI address (0000:3b:00.4).
)";

struct UsageError {
    std::string message;
};

struct Target {
    unsigned card;
    std::optional<unsigned> vf;
};

class Cli {
public:
    Cli(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

    int run(std::vector<std::string> args) {
        const char* fromEnv = std::getenv("AISMI_SIM_DIR");
        std::string dir = fromEnv && *fromEnv ? fromEnv : kDefaultDir;
        while (!args.empty() && args.front().starts_with("--")) {
            const std::string opt = args.front();
            args.erase(args.begin());
            if (opt == "--help" || opt == "-h") return out_ << kUsage, 0;
            if (opt == "--dir" && !args.empty()) {
                dir = args.front();
                args.erase(args.begin());
            } else if (opt.starts_with("--dir=")) {
                dir = opt.substr(6);
            } else {
                return usage("unknown option '" + opt + "'");
            }
        }
        if (args.empty()) return usage("no command given");
        const std::string command = args.front();
        args.erase(args.begin());
        try {
            if (command == "help") return out_ << kUsage, 0;
            if (command == "faults") return faults(args);
            if (command == "create") return create(dir, args);
            auto opened = SimStateDir::open(dir);
            if (!opened) return fail(opened.error());
            state_ = std::move(*opened);
            if (command == "list") return list(args);
            if (command == "show") return show(args);
            if (command == "inject") return inject(args);
            if (command == "clear") return clear(args);
            if (command == "load") return load(args);
            if (command == "vf-memory") return vfMemory(args);
            if (command == "power-cycle") return powerCycle(args);
            if (command == "freeze") return freeze(dir, args);
            if (command == "thaw") return thawWrites(dir, args);
            return usage("unknown command '" + command + "'");
        } catch (const UsageError& e) {
            return usage(e.message);
        }
    }

private:
    int usage(const std::string& message) {
        err_ << "aismi-sim: " << message << "\nRun 'aismi-sim --help' for usage.\n";
        return errcInfo(Errc::InvalidArgument).exitCode;
    }

    int fail(const Error& e) {
        err_ << "aismi-sim: " << e.message << "\n";
        return errcInfo(e.code).exitCode;
    }

    static void expectArgs(const std::vector<std::string>& args, size_t n, const char* form) {
        if (args.size() != n) throw UsageError{std::string("expected: ") + form};
    }

    Target parseTarget(const std::string& s, bool needVf) {
        Target t{};
        if (auto address = PciAddress::parse(s)) {
            for (unsigned c = 0; c < state_->config().cards; ++c) {
                auto card = state_->card(c);
                if (!card) continue;
                if (auto fn = SimCardView(state_->config(), **card).functionAt(*address)) {
                    t.card = c;
                    if (*fn >= 0) t.vf = static_cast<unsigned>(*fn);
                    if (needVf && !t.vf) throw UsageError{s + " is a card's PF; this command needs a VF"};
                    return t;
                }
            }
            throw UsageError{"no simulated card or enabled VF has PCI address " + s};
        }
        const size_t colon = s.find(':');
        auto card = text::parseUnsigned(s.substr(0, colon), "card");
        std::optional<uint64_t> vf;
        if (colon != std::string::npos) {
            auto v = text::parseUnsigned(s.substr(colon + 1), "VF");
            if (!v) throw UsageError{"'" + s + "' is not a target (expected CARD, CARD:VF or a PCI address)"};
            vf = *v;
        }
        if (!card) throw UsageError{"'" + s + "' is not a target (expected CARD, CARD:VF or a PCI address)"};
        if (*card >= state_->config().cards)
            throw UsageError{"there is no card " + std::to_string(*card) + " (cards 0 to " + std::to_string(state_->config().cards - 1) + ")"};
        if (needVf && !vf) throw UsageError{"'" + s + "' names a card; this command needs a VF as CARD:VF"};
        t.card = static_cast<unsigned>(*card);
        if (vf) t.vf = static_cast<unsigned>(*vf);
        return t;
    }

    int faults(const std::vector<std::string>& args) {
        expectArgs(args, 0, "aismi-sim faults");
        out_ << std::left << std::setw(19) << "FAULT" << std::setw(10) << "TARGET" << "EFFECT\n";
        for (Fault f : allFaults()) {
            const char* target = faultAppliesToVf(f) ? (faultAppliesToCard(f) ? "card, VF" : "VF") : "card";
            out_ << std::setw(19) << faultName(f) << std::setw(10) << target << faultDescription(f) << "\n";
        }
        return 0;
    }

    int create(const std::string& dir, const std::vector<std::string>& args) {
        SimConfig c;
        const std::map<std::string, std::function<void(const std::string&)>> setters{
            {"--cards", [&](const std::string& v) { c.cards = number(v, "--cards"); }},
            {"--vfs", [&](const std::string& v) { c.totalVfs = number(v, "--vfs"); }},
            {"--compute-units", [&](const std::string& v) { c.capacity.computeUnits = number(v, "--compute-units"); }},
            {"--memory-mib", [&](const std::string& v) { c.capacity.memoryMib = number(v, "--memory-mib"); }},
            {"--engines", [&](const std::string& v) { c.capacity.engines = number(v, "--engines"); }},
            {"--flr-ms", [&](const std::string& v) { c.flrMs = number(v, "--flr-ms"); }},
            {"--flr-timeout-ms", [&](const std::string& v) { c.flrTimeoutMs = number(v, "--flr-timeout-ms"); }},
            {"--vf-enable-us", [&](const std::string& v) { c.vfEnableUs = number(v, "--vf-enable-us"); }},
            {"--vf-provision-us", [&](const std::string& v) { c.vfProvisionUs = number(v, "--vf-provision-us"); }},
            {"--flash-kib-per-s", [&](const std::string& v) { c.flashKibPerS = number(v, "--flash-kib-per-s"); }},
            {"--flash-program-ms", [&](const std::string& v) { c.flashProgramMs = number(v, "--flash-program-ms"); }},
            {"--flash-bank-kib", [&](const std::string& v) { c.flashBankKib = number(v, "--flash-bank-kib"); }},
            {"--time-factor",
             [&](const std::string& v) {
                 auto f = text::parseDouble(v, "--time-factor");
                 if (!f) throw UsageError{f.error().message};
                 c.timeFactor = *f;
             }},
        };
        for (size_t i = 0; i < args.size(); ++i) {
            std::string name = args[i], val;
            if (const size_t eq = name.find('='); eq != std::string::npos) {
                val = name.substr(eq + 1);
                name = name.substr(0, eq);
            } else if (i + 1 < args.size()) {
                val = args[++i];
            } else {
                throw UsageError{"'" + name + "' needs a value"};
            }
            auto it = setters.find(name);
            if (it == setters.end()) throw UsageError{"create: unknown option '" + name + "'"};
            it->second(val);
        }
        auto created = SimStateDir::create(dir, c);
        if (!created) return fail(created.error());
        out_ << "created " << c.cards << " simulated card" << (c.cards == 1 ? "" : "s") << " with up to " << c.totalVfs
             << " VFs each in " << dir << "\n";
        return 0;
    }

    static unsigned number(const std::string& v, const std::string& name) {
        auto n = text::parseUnsigned(v, name);
        if (!n || *n > UINT32_MAX) throw UsageError{name + ": '" + v + "' is not a whole number"};
        return static_cast<unsigned>(*n);
    }

    static std::string functionFaults(const SimFunction& f) {
        std::string s;
        const auto add = [&](const char* n) { s += (s.empty() ? "" : " ") + std::string(n); };
        if (f.hung) add("vf-hang");
        if (f.flrFail) add("flr-fail");
        if (f.flrTimeout) add("flr-timeout");
        if (f.errored) add("stopped-by-error");
        return s;
    }

    static std::string cardFaults(const SimCard& c) {
        std::string s = functionFaults(c.pf);
        const auto add = [&](const char* n) { s += (s.empty() ? "" : " ") + std::string(n); };
        if (c.thermal) add("thermal");
        if (c.linkDegraded) add("link-degrade");
        if (c.deviceLost) add("device-lost");
        if (!c.firmware.banks[0].integrityOk || !c.firmware.banks[1].integrityOk) add("fw-corrupt");
        if (c.nextImage == FirmwareBoot::NoBoot) add("fw-no-boot");
        if (c.nextImage == FirmwareBoot::Unhealthy) add("fw-unhealthy");
        if (c.nextWriteFault == "read-write-error") add("fw-write-error");
        if (c.nextWriteFault == "flash-wearout") add("flash-wearout");
        size_t vfFaults = 0;
        for (const auto& vf : c.vfs) vfFaults += !functionFaults(vf).empty();
        if (vfFaults) s += (s.empty() ? "" : " ") + std::to_string(vfFaults) + " VF(s) faulted";
        return s.empty() ? "-" : s;
    }

    int freeze(const std::string& dir, const std::vector<std::string>& args) {
        if (!args.empty() && args[0] == "status") {
            expectArgs(args, 1, "aismi-sim freeze status");
            auto s = freezeState(dir);
            if (!s) return fail(s.error());
            if (!*s) return out_ << "not armed\n", 0;
            const char* when = (*s)->when == FreezeWhen::Before ? "before" : "after";
            if (!(*s)->frozenPath.empty())
                out_ << "frozen " << when << " write " << (*s)->at << ": " << (*s)->frozenPath << "\n";
            else
                out_ << "armed: " << when << " write " << (*s)->at << ", " << (*s)->seen << " seen so far\n";
            return 0;
        }
        expectArgs(args, 2, "aismi-sim freeze before|after N, or aismi-sim freeze status");
        if (args[0] != "before" && args[0] != "after") throw UsageError{"freeze: '" + args[0] + "' is not 'before', 'after' or 'status'"};
        const unsigned at = number(args[1], "freeze");
        if (at < 1 || at > kMaxFreezeWrite) throw UsageError{"freeze: the write must be 1 to " + std::to_string(kMaxFreezeWrite)};
        if (auto r = armFreeze(dir, args[0] == "before" ? FreezeWhen::Before : FreezeWhen::After, at); !r) return fail(r.error());
        out_ << "armed: " << args[0] << " write " << at << "\n";
        return 0;
    }

    int thawWrites(const std::string& dir, const std::vector<std::string>& args) {
        expectArgs(args, 0, "aismi-sim thaw");
        if (auto r = thaw(dir); !r) return fail(r.error());
        return 0;
    }

    int list(const std::vector<std::string>& args) {
        expectArgs(args, 0, "aismi-sim list");
        const int64_t now = systemClock().nowNs();
        out_ << std::left << std::setw(5) << "CARD" << std::setw(14) << "PCI" << std::setw(13) << "SERIAL" << std::setw(9) << "VFS"
             << std::setw(7) << "LOADED" << std::setw(7) << "TEMP" << std::setw(7) << "POWER" << "FAULTS\n";
        for (unsigned c = 0; c < state_->config().cards; ++c) {
            auto loadedCard = state_->card(c);
            if (!loadedCard) return fail(loadedCard.error());
            const SimCard* card = loadedCard->get();
            SimCardView m(state_->config(), *card);
            size_t loaded = 0;
            for (const auto& vf : card->vfs) loaded += vf.loadOn;
            std::ostringstream temp, power;
            temp << std::fixed << std::setprecision(0) << m.temperatureC(now) << "C";
            power << std::fixed << std::setprecision(0) << m.powerW(now) << "W";
            out_ << std::setw(5) << c << std::setw(14) << m.pfAddress().str() << std::setw(13) << card->serial << std::setw(9)
                 << (std::to_string(card->vfs.size()) + "/" + std::to_string(state_->config().totalVfs)) << std::setw(7) << loaded
                 << std::setw(7) << temp.str() << std::setw(7) << power.str() << cardFaults(*card) << "\n";
        }
        return 0;
    }

    int show(const std::vector<std::string>& args) {
        expectArgs(args, 1, "aismi-sim show CARD[:VF]");
        const Target t = parseTarget(args[0], false);
        auto loadedCard = state_->card(t.card);
        if (!loadedCard) return fail(loadedCard.error());
        const SimCard* card = loadedCard->get();
        SimCardView m(state_->config(), *card);
        const int64_t now = systemClock().nowNs();
        const auto row = [&](const char* k) -> std::ostream& { return out_ << "  " << std::left << std::setw(15) << k; };
        out_ << std::fixed << std::setprecision(1);
        if (t.vf) {
            if (*t.vf >= card->vfs.size())
                return fail(makeError(Errc::NotFound, "card " + std::to_string(t.card) + ": VF " + std::to_string(*t.vf) +
                                                          " is not enabled (" + std::to_string(card->vfs.size()) + " VFs are)"));
            const SimFunction& f = card->vfs[*t.vf];
            out_ << "card " << t.card << " VF " << *t.vf << "\n";
            row("pci") << m.vfAddress(*t.vf)->str() << "\n";
            row("driver") << (f.driver.empty() ? "-" : f.driver) << "\n";
            row("override") << (f.driverOverride.empty() ? "-" : f.driverOverride) << "\n";
            row("state") << vfStateName(m.vfState(*t.vf, now)) << "\n";
            row("workload") << (f.loadOn ? "on" : "off") << "\n";
            row("memory") << (f.memory.empty() ? "clean" : f.memory) << "\n";
            row("progress") << m.progress(*t.vf, now) << "\n";
            row("resources") << f.resources.computeUnits << " compute units (burst to " << f.resources.burstCap() << ", weight "
                             << f.resources.weight << "), " << f.resources.memoryMib << " MiB, " << f.resources.engines << " engines\n";
            const std::vector<double> shares = m.computeShares();
            row("compute") << shares[*t.vf] << " units now" << (m.throttled(*t.vf, shares) ? " (throttled: the card is oversubscribed)" : "")
                           << "\n";
            row("memory used") << m.vfMemoryUsedMib(*t.vf) << " MiB\n";
            row("ecc") << "corrected " << f.eccCorrected << ", uncorrected " << f.eccUncorrected << "\n";
            row("resets") << f.resetCount << "\n";
            const std::string faults = functionFaults(f);
            row("faults") << (faults.empty() ? "-" : faults) << "\n";
            return 0;
        }
        const SimConfig& cfg = state_->config();
        out_ << "card " << t.card << "\n";
        row("pci") << m.pfAddress().str() << "\n";
        row("serial") << card->serial << "\n";
        row("driver") << (card->pf.driver.empty() ? "-" : card->pf.driver) << "\n";
        row("reset methods") << (card->pf.resetMethod.empty() ? "flr bus (default)" : card->pf.resetMethod) << "\n";
        row("sr-iov") << card->vfs.size() << " of " << cfg.totalVfs << " VFs enabled (first VF offset " << kFirstVfOffset
                      << ", stride " << kVfStride << ")\n";
        row("link") << (card->linkDegraded ? "8.0 GT/s x4 (degraded)" : "16.0 GT/s x16") << "\n";
        row("temperature") << m.temperatureC(now) << " C\n";
        row("power") << m.powerW(now) << " W\n";
        row("utilization") << m.utilizationPct(m.computeShares()) << " %\n";
        row("memory") << m.memoryUsedMib() << " / " << cfg.capacity.memoryMib << " MiB\n";
        row("capacity") << cfg.capacity.computeUnits << " compute units, " << cfg.capacity.engines << " engines\n";
        row("ecc") << "corrected " << m.eccCorrectedTotal() << ", uncorrected " << m.eccUncorrectedTotal() << "\n";
        const FirmwareState fw = m.firmwareAt(now);
        for (unsigned b = 0; b < 2; ++b)
            row(b ? "firmware 1" : "firmware 0") << (fw.banks[b].version.empty() ? "(erased)" : fw.banks[b].version) << " ("
                                                 << (fw.banks[b].integrityOk ? "intact" : "corrupt") << (fw.activeBank == b ? ", running" : "")
                                                 << (fw.bootBank == b ? ", boots" : "") << (fw.tryBank == b ? ", armed to try once" : "")
                                                 << (card->bankBoot[b] == FirmwareBoot::NoBoot ? ", will not boot"
                                                     : card->bankBoot[b] == FirmwareBoot::Unhealthy ? ", fails its self-test" : "")
                                                 << ")\n";
        if (const auto u = m.uploadAt(now); u.phase != UploadPhase::Idle)
            row("flash upload") << uploadPhaseName(u.phase) << " to bank " << card->upload->bank << ", " << u.remaining << " bytes to go\n";
        row("flash") << cfg.flashKibPerS << " KiB/s + " << cfg.flashProgramMs << " ms programming x time factor " << cfg.timeFactor << "\n";
        row("flr time") << cfg.flrMs << " ms x time factor " << cfg.timeFactor << "\n";
        row("vf enable time") << cfg.vfEnableUs << " us per VF x time factor " << cfg.timeFactor << "\n";
        row("provision time") << cfg.vfProvisionUs << " us per VF x time factor " << cfg.timeFactor << "\n";
        row("faults") << cardFaults(*card) << "\n";
        return 0;
    }

    int inject(const std::vector<std::string>& args) {
        expectArgs(args, 2, "aismi-sim inject CARD[:VF] FAULT");
        const Target t = parseTarget(args[0], false);
        auto fault = faultFromName(args[1]);
        if (!fault) throw UsageError{"unknown fault '" + args[1] + "'; 'aismi-sim faults' lists them"};
        auto r = state_->mutate(t.card, [&](SimCard& c) { return SimCardModel(state_->config(), c).inject(t.vf, *fault, systemClock().nowNs()); });
        if (!r) return fail(r.error());
        out_ << "injected " << args[1] << " into " << args[0] << "\n";
        return 0;
    }

    int clear(const std::vector<std::string>& args) {
        expectArgs(args, 1, "aismi-sim clear CARD[:VF]");
        const Target t = parseTarget(args[0], false);
        auto r = state_->mutate(t.card, [&](SimCard& c) { return SimCardModel(state_->config(), c).clear(t.vf, systemClock().nowNs()); });
        if (!r) return fail(r.error());
        out_ << "cleared faults on " << args[0] << "\n";
        return 0;
    }

    int load(const std::vector<std::string>& args) {
        expectArgs(args, 2, "aismi-sim load CARD:VF on|off");
        const Target t = parseTarget(args[0], true);
        if (args[1] != "on" && args[1] != "off") throw UsageError{"load takes 'on' or 'off', not '" + args[1] + "'"};
        auto r = state_->mutate(t.card, [&](SimCard& c) {
            return SimCardModel(state_->config(), c).setLoad(*t.vf, args[1] == "on", systemClock().nowNs());
        });
        if (!r) return fail(r.error());
        out_ << (args[1] == "on" ? "workload started on " : "workload stopped on ") << args[0] << "\n";
        return 0;
    }

    int vfMemory(const std::vector<std::string>& args) {
        if (args.empty()) throw UsageError{"vf-memory takes 'write CARD:VF PATTERN' or 'read CARD:VF'"};
        if (args[0] == "read") {
            const std::vector<std::string> rest(args.begin() + 1, args.end());
            expectArgs(rest, 1, "aismi-sim vf-memory read CARD:VF");
            const Target t = parseTarget(rest[0], true);
            auto loaded = state_->card(t.card);
            if (!loaded) return fail(loaded.error());
            const SimCard* card = loaded->get();
            if (*t.vf >= card->vfs.size()) return fail(makeError(Errc::NotFound, "card " + std::to_string(t.card) + " has no VF " + std::to_string(*t.vf) + " enabled"));
            const std::string& m = card->vfs[*t.vf].memory;
            out_ << (m.empty() ? "clean" : m) << "\n";
            return 0;
        }
        if (args[0] != "write") throw UsageError{"vf-memory takes 'write' or 'read', not '" + args[0] + "'"};
        const std::vector<std::string> rest(args.begin() + 1, args.end());
        expectArgs(rest, 2, "aismi-sim vf-memory write CARD:VF PATTERN");
        const Target t = parseTarget(rest[0], true);
        auto r = state_->mutate(t.card, [&](SimCard& c) { return SimCardModel(state_->config(), c).writeMemory(*t.vf, rest[1]); });
        if (!r) return fail(r.error());
        out_ << "wrote " << rest[1] << " into " << rest[0] << "'s memory\n";
        return 0;
    }

    int powerCycle(const std::vector<std::string>& args) {
        expectArgs(args, 1, "aismi-sim power-cycle CARD");
        const Target t = parseTarget(args[0], false);
        if (t.vf) throw UsageError{"power-cycle takes a card, not a VF"};
        auto r = state_->mutate(t.card, [&](SimCard& c) {
            SimCardModel(state_->config(), c).powerCycle(systemClock().nowNs());
            return Result<void>();
        });
        if (!r) return fail(r.error());
        out_ << "power-cycled card " << t.card << "\n";
        return 0;
    }

    std::ostream& out_;
    std::ostream& err_;
    std::unique_ptr<SimStateDir> state_;
};

}  // namespace

int runSimCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) { return Cli(out, err).run(args); }

}  // namespace aismi::sim
