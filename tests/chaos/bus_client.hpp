// aismi-chaos's D-Bus client: one connection per client thread to the world's private bus,
// calls timed against the tester's clock and answered with what a model needs to know — did
// it happen (a reply), certainly not (a named refusal), or perhaps (no answer).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct sd_bus;
struct sd_bus_message;

namespace aismi::chaos {

/// Seconds on the tester's monotonic clock since it started.
double now();

struct Reply {
    double invoked = 0, completed = 0;
    bool timedOut = false;  // no answer within the call timeout
    std::string error;      // "" on success, else the D-Bus error name
    std::string message;    // the error's message
    std::shared_ptr<sd_bus_message> body;  // the reply, on success

    bool ok() const { return error.empty() && !timedOut; }
    /// aismid went away under the call (killed): it may or may not have happened.
    bool lost() const;
    /// aismid was not on the bus: it certainly did not happen.
    bool absent() const;
};

class BusClient {
public:
    /// Connects to the bus at `address` (a unix: address), as this process's uid.
    explicit BusClient(const std::string& address);
    ~BusClient();
    BusClient(const BusClient&) = delete;
    BusClient& operator=(const BusClient&) = delete;

    using Append = std::function<void(sd_bus_message*)>;
    /// Calls `member` of `interface` on aismid's object `path`; `append` adds the arguments.
    Reply call(const std::string& path, const char* interface, const char* member, const Append& append = {}, uint64_t timeoutUs = 30'000'000);

    /// Manager1.Query: every column asked for, as text per object ("true", "12", "eighth").
    std::map<std::string, std::vector<std::string>> query(const char* interface, const std::vector<std::string>& properties, Reply* reply = nullptr);

private:
    sd_bus* bus_ = nullptr;
};

std::string cardPath(unsigned card);
std::string vfPath(unsigned card, unsigned vf);

}  // namespace aismi::chaos
