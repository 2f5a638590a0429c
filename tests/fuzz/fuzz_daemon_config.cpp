// aismid.conf: any file parses into a configuration or a ConfigInvalid error naming what is
// wrong, never a crash or a hang; what parses is within the documented ranges.
#include "daemon_config.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const int fd = ::memfd_create("aismid.conf", MFD_CLOEXEC);
    if (fd < 0) return 0;
    size_t written = 0;
    while (written < size) {
        const ssize_t n = ::write(fd, data + written, size - written);
        if (n <= 0) break;
        written += static_cast<size_t>(n);
    }
    auto parsed = aismi::parseDaemonConfig({"--config=/proc/self/fd/" + std::to_string(fd)});
    ::close(fd);
    if (!parsed) {
        if (parsed.error().code != aismi::Errc::ConfigInvalid || parsed.error().message.empty()) __builtin_trap();
        return 0;
    }
    const aismi::DaemonConfig& c = parsed->config;
    if (c.pollIntervalMs < 100 || c.pollIntervalMs > 3'600'000) __builtin_trap();
    if (c.eventsKeep < 100 || c.eventsKeep > 10'000'000 || c.eventsMaxAgeDays < 1 || c.eventsMaxAgeDays > 3650) __builtin_trap();
    if (c.resetGuardResets < 1 || c.resetGuardResets > 100 || c.cardResetBudget < 1 || c.cardResetBudget > 100) __builtin_trap();
    if (c.health.stalePolls < 1 || c.health.stalePolls > 100 || c.health.hangPolls < 1 || c.health.hangPolls > 1000) __builtin_trap();
    if (c.stateDir.empty() || c.matches.empty()) __builtin_trap();
    if (c.metrics.enabled && c.metrics.host.empty()) __builtin_trap();
    return 0;
}
