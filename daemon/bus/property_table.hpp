// The bus edge as declared tables: each interface's properties are declared once — name,
// accessor, and whether the value can change — and that one row serves the getter, the
// PropertiesChanged diff, the columns of Manager1.Query and GetSummary. The wire type comes
// from the accessor; the D-Bus "not reported" conventions (NaN, integer maxima) are applied
// here and nowhere else. daemon/dbus/*.xml must agree with the tables (a unit test checks).
#pragma once

#include <sdbus-c++/sdbus-c++.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace aismi::bus {

using WireValue = std::variant<bool, uint16_t, int32_t, uint32_t, uint64_t, double, std::string, std::vector<std::string>,
                               sdbus::ObjectPath, std::vector<sdbus::ObjectPath>>;

// "Not reported" on the bus: NaN for doubles, the type's maximum for unsigned integers, -1
// for signed ones.
inline WireValue toWire(bool v) { return v; }
inline WireValue toWire(uint16_t v) { return v; }
inline WireValue toWire(int32_t v) { return v; }
inline WireValue toWire(uint32_t v) { return v; }
inline WireValue toWire(uint64_t v) { return v; }
inline WireValue toWire(double v) { return v; }
inline WireValue toWire(std::string v) { return v; }
inline WireValue toWire(std::string_view v) { return std::string(v); }
inline WireValue toWire(std::vector<std::string> v) { return v; }
inline WireValue toWire(sdbus::ObjectPath v) { return v; }
inline WireValue toWire(std::vector<sdbus::ObjectPath> v) { return v; }
inline WireValue toWire(std::optional<double> v) { return v.value_or(std::numeric_limits<double>::quiet_NaN()); }
inline WireValue toWire(std::optional<uint32_t> v) { return v.value_or(std::numeric_limits<uint32_t>::max()); }
inline WireValue toWire(std::optional<uint64_t> v) { return v.value_or(std::numeric_limits<uint64_t>::max()); }

/// The D-Bus signature of a wire value.
std::string signatureOf(const WireValue& v);
/// Equal for the purpose of PropertiesChanged (NaN equals NaN).
bool sameWire(const WireValue& a, const WireValue& b);
void appendTo(sdbus::Message& msg, const WireValue& v);

/// Emits: PropertiesChanged when it changes; Const: never changes; Silent: changes at every
/// poll (a timestamp), read on demand, never signalled (EmitsChangedSignal "false").
enum class Change { Emits, Const, Silent };

template <class Subject>
struct PropertyRow {
    std::string name;
    std::string signature;
    Change change = Change::Emits;
    std::function<WireValue(const Subject&)> get;
    /// Optional: whether two subjects have the same value, without building it (a list of
    /// hundreds of paths compared at every poll). Empty: the wire values are compared.
    std::function<bool(const Subject&, const Subject&)> same = {};
};

template <class Subject>
using PropertyTable = std::vector<PropertyRow<Subject>>;

/// One row: `get` returns anything toWire() accepts; the signature is taken from it.
template <class Subject, class Get>
PropertyRow<Subject> property(std::string name, Get get, Change change = Change::Emits) {
    std::function<WireValue(const Subject&)> wire = [get](const Subject& s) { return toWire(get(s)); };
    return PropertyRow<Subject>{std::move(name), signatureOf(wire(Subject{})), change, std::move(wire)};
}

template <class Subject>
const PropertyRow<Subject>* findRow(const PropertyTable<Subject>& table, const std::string& name) {
    for (const auto& row : table)
        if (row.name == name) return &row;
    return nullptr;
}

/// Registers every row as a read-only property of `interface`; `owner->subject()` gives the
/// value to read from at the time of the call.
template <class Subject, class Owner>
void registerProperties(sdbus::IObject& object, const std::string& interface, const PropertyTable<Subject>& table,
                        const Owner* owner) {
    // Two pointers: the getter fits in std::function's own storage (no allocation per
    // property per object). The table is static and `owner` owns `object`.
    for (const auto& row : table) {
        sdbus::Flags flags;
        if (row.change == Change::Const) flags.set(sdbus::Flags::CONST_PROPERTY_VALUE);
        if (row.change == Change::Silent) flags.set(sdbus::Flags::EMITS_NO_SIGNAL);
        object.registerProperty(interface, row.name, row.signature,
                                [r = &row, owner](sdbus::PropertyGetReply& reply) { appendTo(reply, r->get(owner->subject())); }, flags);
    }
}

/// The names of the rows whose values differ between two subjects (for PropertiesChanged).
template <class Subject>
std::vector<std::string> changedProperties(const PropertyTable<Subject>& table, const Subject& a, const Subject& b) {
    std::vector<std::string> out;
    for (const auto& row : table)
        if (row.change == Change::Emits && !(row.same ? row.same(a, b) : sameWire(row.get(a), row.get(b)))) out.push_back(row.name);
    return out;
}

/// A column for Manager1.Query, appended straight to the reply: a variant holding the row's
/// value for every subject, as one typed array (no intermediate copies: thousands of rows).
/// `Msg` is sdbus::Message, or a recorder in tests.
template <class Subject, class Msg>
void appendColumn(Msg& msg, const PropertyRow<Subject>& row, const std::vector<const Subject*>& subjects) {
    msg.openVariant("a" + row.signature);
    msg.openContainer(row.signature);
    for (const auto* s : subjects) std::visit([&msg](const auto& x) { msg << x; }, row.get(*s));
    msg.closeContainer();
    msg.closeVariant();
}

}  // namespace aismi::bus
