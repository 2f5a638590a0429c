// A call's arguments, read within aismid's limits (core/limits.hpp): a string longer than
// limits::kMaxBusString, or an array or dictionary (an options a{sv}, its keys and string
// values included) of more than limits::kMaxBusArray elements, is refused as InvalidArgument
// naming the method and the argument, before anything acts on it. So is a string holding a
// control character (an escape sequence in a reason would reach every terminal that prints the
// event history): caller text is printable; only a multi-line document (domain XML) may hold
// newlines and tabs.
#pragma once

#include "limits.hpp"

#include <sdbus-c++/Message.h>
#include <sdbus-c++/Types.h>

#include <initializer_list>
#include <map>
#include <string>
#include <vector>

namespace aismi::bus {

enum class Lines { One, Many };
void checkArgument(const sdbus::MethodCall& call, const char* name, const std::string& value, size_t maxBytes = limits::kMaxBusString,
                   Lines lines = Lines::One);
void checkArgument(const sdbus::MethodCall& call, const char* name, const std::vector<std::string>& value);
void checkArgument(const sdbus::MethodCall& call, const char* name, const std::map<std::string, sdbus::Variant>& value);
// Numbers and descriptors have no size to bound.
template <class T>
void checkArgument(const sdbus::MethodCall&, const char*, const T&) {}

/// Reads the call's arguments in order, then checks each against the limits; `names` are the
/// arguments' names as the interface declares them.
template <class... T>
void readArguments(sdbus::MethodCall& call, std::initializer_list<const char*> names, T&... values) {
    (call >> ... >> values);
    const char* const* name = names.begin();
    ((checkArgument(call, name != names.end() ? *name++ : "argument", values)), ...);
}

}  // namespace aismi::bus
