#include "arguments.hpp"

#include "bus_context.hpp"

#include <aismi/error.hpp>
#include <aismi/text.hpp>

namespace aismi::bus {
namespace {

[[noreturn]] void refuse(const sdbus::MethodCall& call, const char* name, const std::string& what) {
    throw toBusError(makeError(Errc::InvalidArgument, call.getMemberName() + ": " + name + " " + what));
}

void checkCount(const sdbus::MethodCall& call, const char* name, size_t n) {
    if (n > limits::kMaxBusArray)
        refuse(call, name, "has " + std::to_string(n) + " elements; at most " + std::to_string(limits::kMaxBusArray));
}

}  // namespace

void checkArgument(const sdbus::MethodCall& call, const char* name, const std::string& value, size_t maxBytes, Lines lines) {
    if (value.size() > maxBytes) refuse(call, name, "is " + std::to_string(value.size()) + " bytes long; at most " + std::to_string(maxBytes));
    if (auto bad = text::firstControlCharacter(value, lines == Lines::Many))
        refuse(call, name, "holds a control character (" + text::escapeControl(value.substr(*bad, 1)) + " at byte " + std::to_string(*bad) +
                               "); only printable text is accepted");
}

void checkArgument(const sdbus::MethodCall& call, const char* name, const std::vector<std::string>& value) {
    checkCount(call, name, value.size());
    for (const auto& s : value) checkArgument(call, name, s);
}

void checkArgument(const sdbus::MethodCall& call, const char* name, const std::map<std::string, sdbus::Variant>& value) {
    checkCount(call, name, value.size());
    for (const auto& [key, v] : value) {
        checkArgument(call, name, key);
        if (v.containsValueOfType<std::string>()) checkArgument(call, name, v.get<std::string>());
        else if (v.containsValueOfType<std::vector<std::string>>()) checkArgument(call, name, v.get<std::vector<std::string>>());
    }
}


}  // namespace aismi::bus
