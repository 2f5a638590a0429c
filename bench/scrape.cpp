// aismi-bench-scrape ADDR:PORT COUNT INTERVAL_MS [TARGET [HEADER]]: GETs TARGET (default
// /metrics) COUNT times, one every INTERVAL_MS (0: back to back), each on a new connection
// as a scraper does, and prints each request's time in microseconds, one per line. Exits 1
// at the first request that does not answer 200.
#include "http_client.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr, "usage: aismi-bench-scrape ADDR:PORT COUNT INTERVAL_MS [TARGET [HEADER]]\n");
        return 2;
    }
    const std::string address = argv[1];
    const long count = std::atol(argv[2]);
    const long intervalMs = std::atol(argv[3]);
    const std::string target = argc > 4 ? argv[4] : "/metrics";
    std::vector<std::string> headers;
    if (argc > 5) headers.emplace_back(argv[5]);
    auto next = std::chrono::steady_clock::now();
    for (long i = 0; i < count; ++i) {
        const auto start = std::chrono::steady_clock::now();
        const auto r = aismi::test::httpGet(address, target, headers);
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
        if (r.status != 200) {
            std::fprintf(stderr, "aismi-bench-scrape: %s%s: %d %s\n", address.c_str(), target.c_str(), r.status, r.error.c_str());
            return 1;
        }
        std::printf("%lld %zu\n", static_cast<long long>(us), r.body.size());
        next += std::chrono::milliseconds(intervalMs);
        std::this_thread::sleep_until(next);
    }
    return 0;
}
