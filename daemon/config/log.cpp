#include "log.hpp"

#include <cstdio>
#include <cstdlib>

namespace aismi::log {
namespace {

void emit(const char* prefix, const char* label, std::string_view message) {
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    if (journal) std::fprintf(stderr, "%s%.*s\n", prefix, static_cast<int>(message.size()), message.data());
    else std::fprintf(stderr, "aismid: %s%.*s\n", label, static_cast<int>(message.size()), message.data());
}

}  // namespace

void info(std::string_view m) { emit("<6>", "", m); }
void warning(std::string_view m) { emit("<4>", "warning: ", m); }
void error(std::string_view m) { emit("<3>", "error: ", m); }

}  // namespace aismi::log
