// The inventory's and the jobs' reads on Manager1 (open to everyone, no device access):
// FindCard, FindVirtualFunction, GetSummary, Query and ListJobs.
#include "method_registration.hpp"

#include "inventory.hpp"
#include "jobs.hpp"

namespace aismi::bus {
namespace {

// The columns of GetSummary, in its wire order: rows of the same tables as the properties.
const std::vector<std::string> kSummaryCard{"Index", "Name", "PciAddress", "Serial", "FirmwareVersion", "TemperatureC", "PowerW",
                                            "UtilizationPercent", "MemoryUsedMiB", "MemoryTotalMiB", "VfEnabled", "VfTotal", "Health"};
const std::vector<std::string> kSummaryVf{"CardIndex", "Index", "PciAddress", "State", "Health", "Driver", "ComputeUnits", "MemoryMiB",
                                          "UtilizationPercent"};

template <class Subject>
std::vector<const PropertyRow<Subject>*> rowsNamed(const PropertyTable<Subject>& table, const std::vector<std::string>& names) {
    std::vector<const PropertyRow<Subject>*> rows;
    for (const auto& n : names) {
        const auto* row = findRow(table, n);
        if (!row) throw toBusError(makeError(Errc::InvalidArgument, "no property " + quoteInput(n)));
        rows.push_back(row);
    }
    return rows;
}

// a(...) of `subjects`, each struct the rows' values in order.
template <class Subject>
void appendRows(sdbus::Message& msg, const std::vector<const PropertyRow<Subject>*>& rows, const std::vector<const Subject*>& subjects) {
    std::string sig;
    for (const auto* r : rows) sig += r->signature;
    msg.openContainer("(" + sig + ")");
    for (const auto* s : subjects) {
        msg.openStruct(sig);
        for (const auto* r : rows) appendTo(msg, r->get(*s));
        msg.closeStruct();
    }
    msg.closeContainer();
}

// ao of the objects, then a{sv}: one typed array per property.
template <class Subject>
void appendColumns(sdbus::Message& msg, const PropertyTable<Subject>& table, const std::vector<std::string>& names,
                   const std::vector<const Subject*>& subjects, const std::function<std::string(const Subject&)>& pathOf) {
    std::vector<sdbus::ObjectPath> paths;
    paths.reserve(subjects.size());
    for (const auto* s : subjects) paths.emplace_back(pathOf(*s));
    msg << paths;
    std::vector<const PropertyRow<Subject>*> rows;
    if (names.empty())
        for (const auto& r : table) rows.push_back(&r);
    else
        rows = rowsNamed(table, names);
    msg.openContainer("{sv}");
    for (const auto* r : rows) {
        msg.openDictEntry("sv");
        msg << r->name;
        appendColumn(msg, *r, subjects);
        msg.closeDictEntry();
    }
    msg.closeContainer();
}

std::vector<const CardSnapshot*> allCards(const Inventory& inv) {
    std::vector<const CardSnapshot*> out;
    for (unsigned i = 0; i < inv.size(); ++i) out.push_back(&inv.snapshot(i));
    return out;
}

std::vector<const VfSnapshot*> allVfs(const Inventory& inv) {
    std::vector<const VfSnapshot*> out;
    for (unsigned i = 0; i < inv.size(); ++i)
        for (const auto& vf : inv.snapshot(i).vfs) out.push_back(&vf);
    return out;
}

// A method that names an object: one string in, the object's path out (or the lookup's error).
void registerLookup(sdbus::IObject& object, const char* method, const char* outName,
                    std::function<Result<std::string>(const std::string&)> find) {
    object.registerMethod(kManagerInterface, method, "s", {"id"}, "o", {outName}, [find = std::move(find)](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string id;
            readArguments(call, {"id"}, id);
            auto path = find(id);
            if (!path) throw toBusError(path.error());
            auto reply = call.createReply();
            reply << sdbus::ObjectPath(*path);
            reply.send();
        });
    });
}

}  // namespace

void registerQueryMethods(sdbus::IObject& object, BusContext& ctx) {
    Inventory& inv = ctx.inventory;
    registerLookup(object, "FindCard", "card", [&inv](const std::string& id) -> Result<std::string> {
        auto card = inv.findCard(id);
        if (!card) return std::move(card).error();
        return cardPath(*card);
    });
    registerLookup(object, "FindVirtualFunction", "vf", [&inv](const std::string& id) -> Result<std::string> {
        auto vf = inv.findVf(id);
        if (!vf) return std::move(vf).error();
        return vfPath(vf->card, vf->vf);
    });
    object.registerMethod(kManagerInterface, "GetSummary", "", {}, "a(ussssdduttuus)a(uussssutu)", {"cards", "vfs"},
                            [&inv](sdbus::MethodCall call) {
                                guarded(call, [&] {
                                    static const auto cardRows = rowsNamed(cardProperties(), kSummaryCard);
                                    static const auto vfRows = rowsNamed(vfProperties(), kSummaryVf);
                                    auto reply = call.createReply();
                                    appendRows(reply, cardRows, allCards(inv));
                                    appendRows(reply, vfRows, allVfs(inv));
                                    reply.send();
                                });
                            });
    object.registerMethod(
        kManagerInterface, "Query", "sas", {"interface", "properties"}, "aoa{sv}", {"objects", "columns"}, [&inv](sdbus::MethodCall call) {
            guarded(call, [&] {
                std::string interface;
                std::vector<std::string> names;
                readArguments(call, {"interface", "properties"}, interface, names);
                auto reply = call.createReply();
                if (interface == kCardInterface)
                    appendColumns<CardSnapshot>(reply, cardProperties(), names, allCards(inv),
                                                [](const CardSnapshot& c) { return cardPath(c.info.index); });
                else if (interface == kVfInterface)
                    appendColumns<VfSnapshot>(reply, vfProperties(), names, allVfs(inv),
                                              [](const VfSnapshot& v) { return vfPath(v.card, v.index); });
                else
                    throw toBusError(makeError(Errc::InvalidArgument, "Query: interface must be " + std::string(kCardInterface) + " or " +
                                                                          kVfInterface + ", not " + quoteInput(interface)));
                reply.send();
            });
        });
    object.registerMethod(kManagerInterface, "ListJobs", "", {}, "ao", {"jobs"}, [&jobs = ctx.jobs](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::vector<sdbus::ObjectPath> paths;
            for (const Job* j : jobs.all()) paths.emplace_back(jobPath(j->id));
            auto reply = call.createReply();
            reply << paths;
            reply.send();
        });
    });
}

}  // namespace aismi::bus
