// Admission cost with many tenants: 10,000 tenants with quotas and 4,096 provisioned VFs
// (16 cards x 256) in a fresh state store; each check is what ProvisionService does for a
// tenant's request: read the quota, count what the tenant holds (without the VF asked for),
// and add up what the card's other 255 VFs hold and admit the request under the card's
// oversubscription policy (daemon/services/partition/admission.*).
//   aismi-bench-admission [CHECKS]     -> prints the median and the 99th percentile in us
#include "admission.hpp"
#include "database.hpp"
#include "desired_state_repository.hpp"
#include "quota_repository.hpp"

#include <aismi/types.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

using namespace aismi;

int main(int argc, char** argv) {
    const int checks = argc > 1 ? std::atoi(argv[1]) : 10000;
    char pattern[] = "/tmp/aismi-bench-admission.XXXXXX";
    if (!::mkdtemp(pattern)) return 1;
    const std::string dir = pattern;
    int rc = 0;
    {
        auto db = Database::open(dir);
        if (!db) return std::fprintf(stderr, "%s\n", db.error().message.c_str()), 1;
        QuotaRepository quotas(**db);
        DesiredStateRepository desired(**db);
        constexpr unsigned kTenants = 10000, kCards = 16, kVfs = 256;
        auto filled = (*db)->transaction([&]() -> Result<void> {
            for (unsigned t = 0; t < kTenants; ++t)
                if (auto r = quotas.set(Quota{"tenant-" + std::to_string(t), 4, 64, 65536}); !r) return r;
            for (unsigned c = 0; c < kCards; ++c)
                for (unsigned v = 0; v < kVfs; ++v)
                    if (auto r = desired.setProvisioned("CARD" + std::to_string(c), v,
                                                        DesiredStateRepository::Provisioned{"eighth", "tenant-" + std::to_string((c * kVfs + v) % kTenants),
                                                                                            Resources{4, 1024, 1}});
                        !r)
                        return r;
            return {};
        });
        if (!filled) return std::fprintf(stderr, "%s\n", filled.error().message.c_str()), 1;
        std::vector<Resources> card(kVfs, Resources{4, 1024, 1, 8, 1});
        const Resources capacity{1024, 262144, 8};
        const Oversubscription policy{200, 150};
        std::mt19937 random(42);
        std::vector<double> us;
        us.reserve(static_cast<size_t>(checks));
        for (int i = 0; i < checks; ++i) {
            const unsigned c = random() % kCards, v = random() % kVfs;
            const std::string tenant = "tenant-" + std::to_string(random() % kTenants);
            const auto start = std::chrono::steady_clock::now();
            auto q = quotas.get(tenant);
            auto used = quotas.usage(tenant, "CARD" + std::to_string(c), v);
            // The card's part, as ProvisionService::admit does it: what the other VFs hold, and
            // the request, under the card's oversubscription policy.
            Usage held, asked;
            for (unsigned k = 0; k < kVfs; ++k)
                if (k != v) held.add(card[k]);
            asked.add(Resources{4, 1024, 1});
            const bool fits = !exceeds(Limits::of(capacity, policy), policy, held, asked);
            const bool admitted = q && used && *q && used->vfs + 1 <= (*q)->maxVfs && fits;
            const auto end = std::chrono::steady_clock::now();
            if (!q || !used) rc = 1;
            (void)admitted;
            us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
        }
        std::sort(us.begin(), us.end());
        std::printf("%d checks: median %.1f us, p99 %.1f us\n", checks, us[us.size() / 2], us[us.size() * 99 / 100]);
    }
    std::filesystem::remove_all(dir);
    return rc;
}
