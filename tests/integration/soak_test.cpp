// A bounded soak: aismid on simulated cards with workloads, faults injected at random (hangs,
// ECC errors, heat, a degraded link, corrupt firmware, failing resets, the device vanishing and
// coming back), resets, VFs held for kubelet and released (bound to vfio-pci, then reset and
// scrubbed), provisioning, metrics scrapes and reads from the CLI, for AISMI_SOAK_SECONDS (30 by
// default; the bench/soak script runs it for minutes). aismid must keep serving, and its memory,
// file descriptors and state store stay flat: measured after a warm-up and at the end (memory in
// the normal build only: AddressSanitizer's quarantine grows RSS by design).
#include "http_client.hpp"
#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace aismi::test;


TEST(Soak, RandomFaultsLeaveMemoryAndFileDescriptorsFlat) {
    const int seconds = envNumber("AISMI_SOAK_SECONDS", 30, 5);
    Stack::Options options;
    options.pollMs = 100;
    // Hangs are reset, not quarantined for good; the event history is kept short, so that the
    // store reaches its size within the warm-up.
    options.extraArgs = {"--reset-guard=100/1", "--events-keep=100"};
    Stack stack(options);
    stack.startDaemon();
    const pid_t pid = stack.daemonPid();
    for (const char* card : {"0", "1"}) ASSERT_EQ(stack.aismi({"vf", "enable", "-i", card, "--count", "8"}).exitCode, 0);
    const unsigned seed = std::random_device{}();
    std::mt19937 rng(seed);
    const std::vector<std::string> vfFaults{"vf-hang", "ecc-correctable", "ecc-uncorrectable", "flr-fail", "flr-timeout"};
    const std::vector<std::string> cardFaults{"thermal", "link-degrade", "fw-corrupt", "ecc-correctable", "device-lost"};
    const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    const std::string metrics = stack.metricsAddress();
    ASSERT_FALSE(metrics.empty());
    unsigned scrapes = 0, scraped = 0, changes = 0;
    const auto step = [&] {
        const std::string card = std::to_string(pick(2)), vf = card + ":" + std::to_string(pick(8));
        const std::string vfPath = "/org/aismi/Manager1/card" + card + "/vf" + vf.substr(2);
        switch (pick(12)) {
        case 8:
            ++changes;
            stack.client(BUSCTL_PATH, {"--system", "call", "org.aismi.Manager1", vfPath, "org.aismi.VirtualFunction1", "Hold", "sa{sv}", "kubelet", "0"});
            break;
        case 9: ++changes, stack.aismi({"vf", "release", vf}); break;
        case 10: ++changes, stack.aismi({"vf", "provision", vf, "--profile", pick(2) ? "eighth" : "quarter"}); break;
        case 11:
            ++scrapes;
            scraped += httpGet(metrics, "/metrics").status == 200;
            break;
        case 0: stack.sim({"load", vf, "on"}); break;
        case 1: stack.sim({"inject", vf, vfFaults[pick(vfFaults.size())]}); break;
        case 2: stack.sim({"inject", card, cardFaults[pick(cardFaults.size())]}); break;
        case 3: stack.sim({"clear", pick(2) ? vf : card}); break;
        case 4: ++changes, stack.aismi({"vf", "reset", vf, "--force"}); break;
        case 5: stack.aismi({"health", "-j"}); break;
        case 6: stack.aismi({"events", "--lines", "50"}); break;
        default: stack.aismi({"-q"}); break;
        }
    };
    const auto runFor = [&](std::chrono::seconds d) {
        const auto until = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < until) step();
    };
    // Warm-up: caches, and the store's bounded tables (events, jobs, finished operations: each
    // keeps its newest 100) filled to their bounds by more changes than that.
    runFor(std::chrono::seconds(std::max(3, seconds / 5)));
    while (changes < 120) step();
    // What the state store's content takes, as aismid reports it (aismi_state_store_bytes): its
    // pages in use, not the files, which SQLite grows ahead and reuses (its write-ahead log).
    const auto storeBytes = [&]() -> long {
        const std::string text = httpGet(metrics, "/metrics").body;
        const size_t at = text.find("\naismi_state_store_bytes ");
        return at == std::string::npos ? -1L : std::stol(text.substr(at + 25));
    };
    const long rss0 = rssKib(pid), fds0 = openFds(pid), db0 = storeBytes();
    runFor(std::chrono::seconds(seconds));
    for (const char* card : {"0", "1"}) stack.sim({"clear", card});
    const long rss1 = rssKib(pid), fds1 = openFds(pid), db1 = storeBytes();
    std::cout << "soak: seed " << seed << ", " << seconds << " s; aismid RSS " << rss0 / 1024.0 << " -> " << rss1 / 1024.0
              << " MiB, open fds " << fds0 << " -> " << fds1 << ", state store " << db0 / 1024.0 << " -> " << db1 / 1024.0 << " KiB, metrics "
              << scraped << " of " << scrapes << " scrapes answered\n";
    EXPECT_EQ(scraped, scrapes) << "every scrape answered (seed " << seed << ")";
    ASSERT_GT(db0, 0);
    // Its tables are bounded (events, jobs and finished operations keep their newest 100 here,
    // the rest is one row per card or VF), but SQLite's use of pages settles more slowly than a
    // CI soak lasts (180 -> 232 KiB over 20 s): judged against a bound, not yet as flat.
    EXPECT_LE(db1, 1024 * 1024) << "the state store's content outgrows its bounded tables (seed " << seed << ")";
    ASSERT_GT(rss0, 0);
    auto alive = stack.aismi({"-L"});
    EXPECT_EQ(alive.exitCode, 0) << "aismid still serves (seed " << seed << "): " << alive.err << stack.daemonLog();
    EXPECT_LE(fds1, fds0 + 2) << "file descriptors leak (seed " << seed << ")";
#if defined(__SANITIZE_ADDRESS__)
    // Under AddressSanitizer freed memory is held in its quarantine (up to 256 MiB) and RSS grows
    // by design; LeakSanitizer checks for leaks at exit instead. The normal build checks RSS.
    std::cout << "soak: RSS not judged under AddressSanitizer\n";
#else
    EXPECT_LE(rss1 - rss0, 4096) << "memory grows by more than 4 MiB (seed " << seed << ")";
#endif
}
