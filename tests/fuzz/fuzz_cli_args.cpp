// aismi's command line: any words (split at NUL bytes) parse into a request or a usage error,
// never a crash; what parses keeps its promises: no -H host ssh could read as an option or a
// second word, several hosts only for commands that read once, dmon's numbers in range.
#include "command_line.hpp"
#include "commands/dmon.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::vector<std::string> args(1);
    for (size_t i = 0; i < size && args.size() <= 24; ++i) {
        if (data[i] == 0) args.emplace_back();
        else args.back() += static_cast<char>(data[i]);
    }
    auto r = aismi::cli::parseCli(args);
    if (!r) {
        if (r.error().code != aismi::Errc::InvalidArgument || r.error().message.empty()) __builtin_trap();
        return 0;
    }
    for (const auto& host : r->hosts)
        if (host.empty() || host[0] == '-' || host.find_first_of(" \t\n;'\"$`\\/") != std::string::npos) __builtin_trap();
    if (r->hosts.size() > 1 && !r->readsOnce) __builtin_trap();
    if (!r->hosts.empty() && !r->localOnly.empty()) __builtin_trap();
    if (!r->run) __builtin_trap();
    if (const auto* dmon = r->as<aismi::cli::DmonRequest>();
        dmon && (dmon->delaySeconds < 1 || dmon->delaySeconds > 86400 || dmon->groups.empty() ||
                 dmon->groups.find_first_not_of(aismi::cli::kDmonGroups) != std::string::npos))
        __builtin_trap();
    return 0;
}
