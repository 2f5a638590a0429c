// aismi-bus-load: many clients of aismid at once. READERS threads query (the summary, typed
// columns, a card's properties, a VF's state, events, jobs, quotas) while WRITERS threads each
// change the VFs of a card of their own (provision with a profile and a tenant, unprovision),
// all of them also for one tenant whose quota every writer competes for, for SECONDS.
//
// What must hold: every request is answered (a reply or a named org.aismi.Error.* other than
// Internal) within the timeout; no update is lost (at the end each VF holds what the last
// change its writer made succeed says); the shared tenant never holds more VFs than its
// quota, neither in any reader's view during the run nor at the end. Prints calls, errors,
// p50, p99 and the maximum latency per method; exits 1 on any violation.
//
// Usage: aismi-bus-load [--readers N] [--writers N] [--seconds S] [--vfs N] [--quota N]
// (the cards 0..WRITERS-1 must have VFS VFs enabled; the tenant "shared" gets quota N)
#include <systemd/sd-bus.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kService = "org.aismi.Manager1";
constexpr const char* kManager = "/org/aismi/Manager1";
constexpr const char* kShared = "shared";
constexpr uint64_t kTimeoutUs = 30'000'000;

using Clock = std::chrono::steady_clock;

struct Options {
    unsigned readers = 100, writers = 10, seconds = 15, vfs = 4, quota = 3;
};

// What every thread reports: latencies per method (microseconds), errors, violations.
struct Tally {
    std::map<std::string, std::vector<double>> latencyUs;
    std::map<std::string, unsigned> errors;
    std::vector<std::string> violations;
    void merge(const Tally& t) {
        for (const auto& [m, v] : t.latencyUs) latencyUs[m].insert(latencyUs[m].end(), v.begin(), v.end());
        for (const auto& [m, n] : t.errors) errors[m] += n;
        violations.insert(violations.end(), t.violations.begin(), t.violations.end());
    }
};

std::string vfPath(unsigned card, unsigned vf) { return std::string(kManager) + "/card" + std::to_string(card) + "/vf" + std::to_string(vf); }

class Client {
public:
    Client() {
        if (int r = sd_bus_open_system(&bus_); r < 0) throw std::runtime_error(std::string("cannot connect to the system bus: ") + strerror(-r));
    }
    ~Client() { sd_bus_flush_close_unref(bus_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    sd_bus_message* call(const std::string& path, const char* interface, const char* member) {
        sd_bus_message* m = nullptr;
        if (sd_bus_message_new_method_call(bus_, &m, kService, path.c_str(), interface, member) < 0) throw std::runtime_error("cannot make a call");
        return m;
    }

    // Sends `m` (consumed), times it under `method`; the reply (caller unrefs) or nullptr, and
    // the error name ("" on success).
    sd_bus_message* send(sd_bus_message* m, const std::string& method, Tally& tally, std::string& errorName) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        const auto start = Clock::now();
        const int r = sd_bus_call(bus_, m, kTimeoutUs, &error, &reply);
        tally.latencyUs[method].push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        sd_bus_message_unref(m);
        errorName.clear();
        if (r < 0) {
            errorName = error.name ? error.name : std::string("(") + strerror(-r) + ")";
            ++tally.errors[method];
            if (r == -ETIMEDOUT) tally.violations.push_back(method + ": no answer within 30 s");
            else if (errorName.rfind("org.aismi.Error.", 0) != 0 || errorName == "org.aismi.Error.Internal")
                tally.violations.push_back(method + ": error " + errorName + ": " + (error.message ? error.message : ""));
        }
        sd_bus_error_free(&error);
        return reply;
    }

private:
    sd_bus* bus_ = nullptr;
};

// How many VFs a Query reply's Tenant column gives to `tenant`.
unsigned countTenant(sd_bus_message* reply, const std::string& tenant) {
    unsigned n = 0;
    if (sd_bus_message_skip(reply, "ao") < 0 || sd_bus_message_enter_container(reply, 'a', "{sv}") < 0) return 0;
    while (sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
        const char* name = nullptr;
        sd_bus_message_read(reply, "s", &name);
        if (name && !std::strcmp(name, "Tenant") && sd_bus_message_enter_container(reply, 'v', "as") > 0) {
            if (sd_bus_message_enter_container(reply, 'a', "s") > 0) {
                const char* t = nullptr;
                while (sd_bus_message_read(reply, "s", &t) > 0)
                    if (tenant == t) ++n;
                sd_bus_message_exit_container(reply);
            }
            sd_bus_message_exit_container(reply);
        } else {
            sd_bus_message_skip(reply, "v");
        }
        sd_bus_message_exit_container(reply);
    }
    return n;
}

void reader(unsigned id, const Options& o, Clock::time_point end, Tally& tally) {
    Client c;
    std::mt19937 rng(id);
    std::string error;
    while (Clock::now() < end) {
        const unsigned card = rng() % o.writers, vf = rng() % o.vfs;
        sd_bus_message* reply = nullptr;
        switch (rng() % 7) {
        case 0: reply = c.send(c.call(kManager, "org.aismi.Manager1", "GetSummary"), "Manager1.GetSummary", tally, error); break;
        case 1: {
            sd_bus_message* m = c.call(kManager, "org.aismi.Manager1", "Query");
            sd_bus_message_append(m, "s", "org.aismi.VirtualFunction1");
            sd_bus_message_append_strv(m, const_cast<char**>(std::array<const char*, 4>{"CardIndex", "Index", "Tenant", nullptr}.data()));
            reply = c.send(m, "Manager1.Query", tally, error);
            if (reply) {
                const unsigned shared = countTenant(reply, kShared);
                if (shared > o.quota)
                    tally.violations.push_back("Manager1.Query: tenant " + std::string(kShared) + " holds " + std::to_string(shared) + " VFs, over its quota of " +
                                               std::to_string(o.quota));
            }
            break;
        }
        case 2: {
            sd_bus_message* m = c.call(std::string(kManager) + "/card" + std::to_string(card), "org.freedesktop.DBus.Properties", "GetAll");
            sd_bus_message_append(m, "s", "org.aismi.Card1");
            reply = c.send(m, "Properties.GetAll(Card1)", tally, error);
            break;
        }
        case 3: {
            sd_bus_message* m = c.call(vfPath(card, vf), "org.freedesktop.DBus.Properties", "Get");
            sd_bus_message_append(m, "ss", "org.aismi.VirtualFunction1", "State");
            reply = c.send(m, "Properties.Get(VirtualFunction1.State)", tally, error);
            break;
        }
        case 4: {
            sd_bus_message* m = c.call(kManager, "org.aismi.Manager1", "ListEvents");
            sd_bus_message_append(m, "a{sv}", 1, "limit", "u", 50u);
            reply = c.send(m, "Manager1.ListEvents", tally, error);
            break;
        }
        case 5: reply = c.send(c.call(kManager, "org.aismi.Manager1", "ListJobs"), "Manager1.ListJobs", tally, error); break;
        default: reply = c.send(c.call(kManager, "org.aismi.Manager1", "ListQuotas"), "Manager1.ListQuotas", tally, error); break;
        }
        sd_bus_message_unref(reply);
    }
}

struct Provisioned {
    std::string profile, tenant;
};

std::string vfProperty(Client& c, unsigned card, unsigned vf, const char* name, Tally& tally) {
    sd_bus_message* m = c.call(vfPath(card, vf), "org.freedesktop.DBus.Properties", "Get");
    sd_bus_message_append(m, "ss", "org.aismi.VirtualFunction1", name);
    std::string error, value;
    sd_bus_message* reply = c.send(m, "Properties.Get(VirtualFunction1)", tally, error);
    const char* s = nullptr;
    if (reply && sd_bus_message_read(reply, "v", "s", &s) >= 0 && s) value = s;
    sd_bus_message_unref(reply);
    return value;
}

// Writer `card`: provisions and unprovisions its card's VFs, and remembers what each VF must
// hold after the last change that succeeded; checks it at the end.
void writer(unsigned card, const Options& o, Clock::time_point end, Tally& tally, unsigned& sharedAtEnd) {
    Client c;
    std::mt19937 rng(1000 + card);
    std::vector<Provisioned> expected(o.vfs);
    for (unsigned vf = 0; vf < o.vfs; ++vf) expected[vf] = Provisioned{vfProperty(c, card, vf, "Profile", tally), vfProperty(c, card, vf, "Tenant", tally)};
    static const char* kProfiles[] = {"eighth", "quarter"};
    const std::string own = "tenant" + std::to_string(card);
    std::string error;
    while (Clock::now() < end) {
        const unsigned vf = rng() % o.vfs;
        if (rng() % 4 == 0) {
            sd_bus_message* reply = c.send(c.call(vfPath(card, vf), "org.aismi.VirtualFunction1", "Unprovision"), "VirtualFunction1.Unprovision", tally, error);
            if (error.empty()) expected[vf] = Provisioned{"", ""};
            sd_bus_message_unref(reply);
            continue;
        }
        const std::string profile = kProfiles[rng() % 2];
        const std::string tenant = rng() % 2 ? kShared : (rng() % 2 ? own : "");
        sd_bus_message* m = c.call(vfPath(card, vf), "org.aismi.VirtualFunction1", "Provision");
        sd_bus_message_append(m, "ss", profile.c_str(), tenant.c_str());
        sd_bus_message* reply = c.send(m, "VirtualFunction1.Provision", tally, error);
        if (error.empty()) expected[vf] = Provisioned{profile, tenant};
        sd_bus_message_unref(reply);
    }
    for (unsigned vf = 0; vf < o.vfs; ++vf) {
        const Provisioned now{vfProperty(c, card, vf, "Profile", tally), vfProperty(c, card, vf, "Tenant", tally)};
        if (now.profile != expected[vf].profile || now.tenant != expected[vf].tenant)
            tally.violations.push_back("VF " + std::to_string(card) + ":" + std::to_string(vf) + " holds '" + now.profile + "' for '" + now.tenant +
                                       "', but its last change that succeeded gave it '" + expected[vf].profile + "' for '" + expected[vf].tenant + "' (a lost update)");
        if (now.tenant == kShared) ++sharedAtEnd;
    }
}

unsigned number(const char* option, const char* text, unsigned min, unsigned max) {
    char* endp = nullptr;
    errno = 0;
    const unsigned long v = std::strtoul(text, &endp, 10);
    if (!*text || *endp || errno || text[0] == '-' || v < min || v > max)
        throw std::invalid_argument(std::string(option) + " takes " + std::to_string(min) + " to " + std::to_string(max) + ", not '" + text + "'");
    return static_cast<unsigned>(v);
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
    return v[i];
}

}  // namespace

int main(int argc, char** argv) {
    try {
        Options o;
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "-h" || a == "--help") {
                std::printf("Usage: aismi-bus-load [--readers N] [--writers N] [--seconds S] [--vfs N] [--quota N]\n");
                return 0;
            }
            if (i + 1 >= argc) throw std::invalid_argument("unknown argument or missing value: '" + a + "' (aismi-bus-load --help)");
            const char* v = argv[++i];
            if (a == "--readers") o.readers = number("--readers", v, 0, 1000);
            else if (a == "--writers") o.writers = number("--writers", v, 1, 64);
            else if (a == "--seconds") o.seconds = number("--seconds", v, 1, 86400);
            else if (a == "--vfs") o.vfs = number("--vfs", v, 1, 256);
            else if (a == "--quota") o.quota = number("--quota", v, 0, 1000);
            else throw std::invalid_argument("unknown argument '" + a + "' (aismi-bus-load --help)");
        }
        {
            Client c;
            Tally setup;
            std::string error;
            sd_bus_message* m = c.call(kManager, "org.aismi.Manager1", "SetQuota");
            sd_bus_message_append(m, "sttt", kShared, static_cast<uint64_t>(o.quota), UINT64_MAX, UINT64_MAX);
            sd_bus_message_unref(c.send(m, "Manager1.SetQuota", setup, error));
            if (!error.empty()) throw std::runtime_error("cannot set the quota of " + std::string(kShared) + ": " + error);
        }
        const auto end = Clock::now() + std::chrono::seconds(o.seconds);
        std::vector<Tally> tallies(o.readers + o.writers);
        std::vector<unsigned> shared(o.writers, 0);
        std::vector<std::thread> threads;
        for (unsigned i = 0; i < o.writers; ++i)
            threads.emplace_back([&, i] {
                try {
                    writer(i, o, end, tallies[i], shared[i]);
                } catch (const std::exception& e) {
                    tallies[i].violations.push_back(std::string("writer: ") + e.what());
                }
            });
        for (unsigned i = 0; i < o.readers; ++i)
            threads.emplace_back([&, i] {
                try {
                    reader(i, o, end, tallies[o.writers + i]);
                } catch (const std::exception& e) {
                    tallies[o.writers + i].violations.push_back(std::string("reader: ") + e.what());
                }
            });
        for (auto& t : threads) t.join();
        Tally all;
        for (const auto& t : tallies) all.merge(t);
        unsigned sharedTotal = 0;
        for (unsigned n : shared) sharedTotal += n;
        if (sharedTotal > o.quota)
            all.violations.push_back("tenant shared holds " + std::to_string(sharedTotal) + " VFs at the end, over its quota of " + std::to_string(o.quota));
        size_t calls = 0;
        for (const auto& [m, v] : all.latencyUs) calls += v.size();
        std::printf("aismi-bus-load: %u readers, %u writers, %u s: %zu calls; tenant shared holds %u of its quota of %u; %zu violations\n", o.readers, o.writers,
                    o.seconds, calls, sharedTotal, o.quota, all.violations.size());
        std::printf("%-40s %8s %7s %9s %9s %9s\n", "method", "calls", "errors", "p50 ms", "p99 ms", "max ms");
        for (auto& [m, v] : all.latencyUs) {
            const double mx = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
            const double p50 = percentile(v, 0.50), p99 = percentile(v, 0.99);
            std::printf("%-40s %8zu %7u %9.2f %9.2f %9.2f\n", m.c_str(), v.size(), all.errors[m], p50 / 1000, p99 / 1000, mx / 1000);
        }
        for (size_t i = 0; i < all.violations.size() && i < 30; ++i) std::printf("FAIL: %s\n", all.violations[i].c_str());
        return all.violations.empty() ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "aismi-bus-load: %s\n", e.what());
        return 2;
    }
}
