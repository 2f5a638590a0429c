// aismi-chaos: a model-based tester of interleaved clients, hardware faults and crashes.
//
// It starts its own world (a private bus, a real polkitd and a real libvirtd with the test
// driver when run as root, aismid on simulated cards) and, for a bounded time, drives it at
// once with
//   - client threads calling aismid over D-Bus with valid and invalid requests: VF counts,
//     layouts (and their dry runs), job cancels, provisioning, quarantines, resets, kubelet's
//     holds, assignments to libvirt domains and driver binding, quotas, oversubscription and
//     recovery policies, and reads of everything; and running `aismi firmware
//     update|activate|rollback` with good, untrusted and damaged images;
//   - a conductor playing the world outside through aismi-sim (faults, power cycles, a card
//     lost and back) and virsh (domains started, stopped, undefined, edited by hand; libvirtd
//     killed and started again: libvirt_world.hpp), declaring layouts in layouts.d with SIGHUP,
//     SIGKILLing and SIGSTOPping aismid, and running aismi as uid 65534;
// and checks every answer against a reference model (register.hpp): each acknowledged change
// is in what aismid and its store say afterwards, no refused one is, and at quiescent points
// (faults cleared, aismid up) desired equals actual, aismid and libvirt agree on who has each
// VF, no VF has two consumers, no tenant is over its quota, no user's memory is left in a VF
// that changed hands, nothing is left open in the store.
//
// Usage: aismi-chaos [--seed N] [--seconds N] [--steps N] [--clients N] [--check-every N] [--history FILE]
// It ends with "chaos: STEPS steps, CHECKS checks, FAULTS faults, CRASHES crashes,
// VIOLATIONS violations (seed SEED)" and fails on any violation. docs/reliability.md has the
// model, the invariants and how to replay a seed.
#include "chaos.hpp"
#include "temp_dir.hpp"

#include "http_client.hpp"
#include "store_query.hpp"

#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>

#include <unistd.h>

using namespace aismi::test;
using namespace std::chrono_literals;

namespace aismi::chaos {

Options gOptions;

void Chaos::run(double seconds) {
    setUp();
    check(true);
    const double end = now() + seconds;
    std::vector<std::thread> clients;
    for (unsigned i = 0; i < gOptions.clients; ++i) clients.emplace_back([this, i, end] { client(i, end); });
    double nextCheck = now() + gOptions.checkEvery;
    while (now() < end && !stepLimitReached()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300 + world_() % 1200));
        if (now() >= nextCheck) {
            quiesce([&] { check(false); });
            nextCheck = now() + gOptions.checkEvery;
            continue;
        }
        worldStep();
    }
    stop_ = true;
    resumeClients();
    for (auto& t : clients) t.join();
    quiesce([&] { check(false); });
    summary();
}

void Chaos::record(const std::string& who, const std::string& command, const std::string& outcome, const std::set<std::string>& touches) {
    std::lock_guard lock(historyLock_);
    history_.push_back(Step{now(), who, command, outcome, touches});
    if (historyFile_) {
        char at[32];
        std::snprintf(at, sizeof at, "%9.3f", history_.back().at);
        historyFile_ << at << "  " << who << ": " << command << "  -> " << outcome << "\n";
    }
    if (history_.size() > 200000) history_.erase(history_.begin(), history_.begin() + 100000);
}

// A violation, with the steps since the last good check that touched what it is about (and
// the world's): the shortest history that explains it, as commands to paste.
void Chaos::violation(const std::string& what, const std::set<std::string>& about, std::optional<double> around) {
    std::ostringstream out;
    const double since = around ? *around - 2 : lastCheck_.load();
    out << "VIOLATION: " << what << "\n  the steps since the last check (t=" << since << " s) that touched it:\n";
    {
        std::lock_guard lock(historyLock_);
        std::vector<const Step*> slice;
        for (const auto& s : history_) {
            if (s.at < since || (around && s.at > *around + 2)) continue;
            bool relevant = s.touches.count("world") > 0;
            for (const auto& a : about) relevant |= s.touches.count(a) > 0;
            if (relevant) slice.push_back(&s);
        }
        // The last steps are the ones that led to it.
        constexpr size_t kShown = 80;
        if (slice.size() > kShown) out << "    ... " << slice.size() - kShown << " earlier steps\n";
        for (size_t i = slice.size() > kShown ? slice.size() - kShown : 0; i < slice.size(); ++i) {
            char at[32];
            std::snprintf(at, sizeof at, "%8.3f", slice[i]->at);
            out << "    " << at << "  " << slice[i]->who << ": " << slice[i]->command << "  -> " << slice[i]->outcome << "\n";
        }
    }
    out << "  replay: aismi-chaos --seed " << seed_ << " --seconds " << gOptions.seconds << " --clients " << gOptions.clients << "\n";
    std::lock_guard lock(violationsLock_);
    violations_.push_back(out.str());
    std::cerr << out.str() << std::flush;
}

void Chaos::summary() {
    const long rss = rssKib(stack_.daemonPid());
    std::printf("chaos: %llu quiescent points; aismid RSS %ld -> %ld KiB, descriptors %ld -> %ld, store %ju -> %ju KiB\n",
                static_cast<unsigned long long>(quiescentPoints_), baselineRss_, rss, baselineFds_, openFds(stack_.daemonPid()), baselineStore_ >> 10,
                storeBytes_ >> 10);
    std::printf("chaos: %-28s %9s %9s %9s\n", "call", "ok", "refused", "no answer");
    for (const auto& [kind, t] : tally_)
        std::printf("chaos: %-28s %9llu %9llu %9llu\n", kind.c_str(), static_cast<unsigned long long>(t[0]), static_cast<unsigned long long>(t[1]),
                    static_cast<unsigned long long>(t[2]));
    std::printf("chaos: %llu steps, %llu checks, %llu faults, %llu crashes, %zu violations (seed %llu)\n", static_cast<unsigned long long>(steps_.load()),
                static_cast<unsigned long long>(checks_.load()), static_cast<unsigned long long>(faults_.load()),
                static_cast<unsigned long long>(crashes_.load()), violations_.size(), static_cast<unsigned long long>(seed_));
    std::fflush(stdout);
}

// The last lines of aismid's log (since the test began) that mention `what`.
std::string Chaos::logAbout(const std::string& what, size_t lines) {
    std::vector<std::string> found;
    std::istringstream in(stack_.daemonLog());
    for (std::string line; std::getline(in, line);)
        if (line.find(what) != std::string::npos) found.push_back(line);
    std::string out;
    for (size_t i = found.size() > lines ? found.size() - lines : 0; i < found.size(); ++i) out += "    " + found[i] + "\n";
    return out;
}

}  // namespace aismi::chaos

using namespace aismi::chaos;

namespace {

// Firmware images for the clients: signed with a key aismid trusts (two versions), with one it
// does not, and a damaged copy.
std::vector<FirmwareImage> makeImages(const TempDir& dir) {
    const auto sh = [](const std::vector<std::string>& argv) {
        auto r = run(argv);
        EXPECT_EQ(r.exitCode, 0) << argv[0] << ": " << r.err;
    };
    sh({OPENSSL_PATH, "genpkey", "-algorithm", "ed25519", "-out", dir / "key.pem"});
    sh({OPENSSL_PATH, "genpkey", "-algorithm", "ed25519", "-out", dir / "untrusted.pem"});
    std::filesystem::create_directories(dir / "trusted");
    sh({OPENSSL_PATH, "pkey", "-in", dir / "key.pem", "-pubout", "-out", dir / "trusted/chaos.pem"});
    {
        std::ofstream payload(dir / "payload.bin", std::ios::binary);
        for (int i = 0; i < 128 * 1024; ++i) payload.put(static_cast<char>(i * 13 + 5));
    }
    std::vector<FirmwareImage> images;
    for (const auto& [version, key] : std::vector<std::pair<std::string, std::string>>{{"2.0.0", "key.pem"}, {"2.1.0", "key.pem"}, {"6.6.6", "untrusted.pem"}}) {
        const std::string out = dir / ("fw-" + version + ".img");
        sh({AISMI_FIRMWARE_PACK_PATH, "--key", dir / key, "--version", version, "--device", "a15e:0100", dir / "payload.bin", "-o", out});
        images.push_back({out, version, key == "key.pem"});
    }
    // A damaged copy of 2.0.0: one byte of its payload changed.
    const std::string damaged = dir / "fw-2.0.0-damaged.img";
    std::filesystem::copy_file(images.front().path, damaged);
    {
        std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(damaged) / 2));
        f.put('\x5a');
    }
    images.push_back({damaged, "2.0.0", false});
    return images;
}

}  // namespace

TEST(Chaos, InterleavedClientsFaultsAndCrashesKeepEveryInvariant) {
    TempDir firmwareDir;
    auto images = makeImages(firmwareDir);
    ASSERT_FALSE(HasFailure());
    Stack::Options o;
    o.cards = gOptions.cards;
    o.vfs = gOptions.vfs;
    o.withPolkit = true;
    o.extraArgs = {"--firmware-check-seconds=1", "--firmware-keys=" + (firmwareDir / "trusted")};
    // libvirtd runs as another uid (libvirtd.hpp): as root only.
    std::unique_ptr<LibvirtWorld> libvirt;
    if (::geteuid() == 0) {
        libvirt = std::make_unique<LibvirtWorld>();
        ASSERT_FALSE(HasFatalFailure()) << "libvirtd did not start";
        o.extraArgs.push_back("--libvirt-uri=" + libvirt->uri());
    }
    Stack stack(o);
    stack.startDaemon();
    ASSERT_FALSE(HasFatalFailure());
    const unsigned seconds = gOptions.seconds ? gOptions.seconds : static_cast<unsigned>(testSize("AISMI_CHAOS_SECONDS", 120, 20, 1));
    gOptions.seconds = seconds;
    std::printf("chaos: seed %llu, %u s, %u clients, %u cards%s%s\n", static_cast<unsigned long long>(gOptions.seed), seconds, gOptions.clients, gOptions.cards,
                stack.polkitRunning() ? ", a real polkitd" : " (no polkitd: not root, or not installed)", libvirt ? ", a real libvirtd" : " (no libvirtd: not root)");
    std::fflush(stdout);
    Chaos chaos(stack, gOptions.seed, std::move(images), libvirt.get());
    chaos.run(seconds);
    EXPECT_EQ(chaos.violations(), 0u) << "every violation is printed above with the steps that led to it";
}

namespace {

uint64_t number(const std::string& option, const char* text, uint64_t min, uint64_t max) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (!*text || *end || errno || text[0] == '-' || v < min || v > max)
        throw std::invalid_argument(option + " takes " + std::to_string(min) + " to " + std::to_string(max) + ", not '" + text + "'");
    return v;
}

const char* kUsage =
    "Usage: aismi-chaos [--seed N] [--seconds N] [--steps N] [--clients N] [--check-every N] [--history FILE]\n"
    "                   [gtest options]\n"
    "\n"
    "Starts a private bus, a real polkitd and libvirtd (as root), aismid on 3 simulated cards, and\n"
    "drives them at once with client threads, faults, crashes, libvirt's changes and an\n"
    "unprivileged user, checking every answer against a reference model. Ends with one line:\n"
    "  chaos: STEPS steps, CHECKS checks, FAULTS faults, CRASHES crashes, VIOLATIONS violations (seed SEED)\n"
    "\n"
    "  --seed N         the run's seed (default: a fresh one, printed); the same seed makes the\n"
    "                   same decisions (real time still interleaves them)\n"
    "  --seconds N      how long (1-86400; default $AISMI_CHAOS_SECONDS, else 120, 20 when\n"
    "                   AISMI_LONG_TESTS=brief)\n"
    "  --steps N        stop after N steps (1-10000000)\n"
    "  --clients N      concurrent D-Bus clients (1-32; default 4)\n"
    "  --check-every N  seconds between quiescent checks (5-3600; default 15)\n"
    "  --history FILE   write every step to FILE as it happens (who, the command to paste,\n"
    "                   what came back)\n";

}  // namespace

int main(int argc, char** argv) {
    gOptions.seed = std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32);
    std::vector<char*> rest{argv[0]};
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "-h" || a == "--help") {
                std::fputs(kUsage, stdout);
                return 0;
            }
            if (a.rfind("--gtest", 0) == 0) {
                rest.push_back(argv[i]);
                continue;
            }
            if (i + 1 >= argc) throw std::invalid_argument("unknown argument or missing value: '" + a + "' (aismi-chaos --help)");
            const char* v = argv[++i];
            if (a == "--seed") gOptions.seed = number(a, v, 0, UINT64_MAX);
            else if (a == "--seconds") gOptions.seconds = static_cast<unsigned>(number(a, v, 1, 86400));
            else if (a == "--steps") gOptions.steps = number(a, v, 1, 10'000'000);
            else if (a == "--clients") gOptions.clients = static_cast<unsigned>(number(a, v, 1, 32));
            else if (a == "--check-every") gOptions.checkEvery = static_cast<unsigned>(number(a, v, 5, 3600));
            else if (a == "--history") gOptions.history = v;
            else throw std::invalid_argument("unknown argument '" + a + "' (aismi-chaos --help)");
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "aismi-chaos: %s\n", e.what());
        return 2;
    }
    int n = static_cast<int>(rest.size());
    ::testing::InitGoogleTest(&n, rest.data());
    return RUN_ALL_TESTS();
}
