// aismi's command line: any words (split at NUL bytes) parse into a request or a usage error,
// never a crash; what parses keeps its promises: no -H host ssh could read as an option or a
// second word, several hosts only for commands that read once, dmon's numbers in range.
#include "options.hpp"

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
    if (r->hosts.size() > 1 && !aismi::cli::readsOnce(*r)) __builtin_trap();
    if (r->mode == aismi::cli::CliRequest::Mode::Dmon &&
        (r->dmonDelaySeconds < 1 || r->dmonDelaySeconds > 86400 || r->dmonGroups.empty() ||
         r->dmonGroups.find_first_not_of(aismi::cli::kDmonGroups) != std::string::npos))
        __builtin_trap();
    return 0;
}
