#include "objects.hpp"

#include "inventory.hpp"
#include "jobs.hpp"

#include <sdbus-c++/sdbus-c++.h>

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
        msg << r->name << column(*r, subjects);
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

sdbus::ObjectPath valueOrThrow(Result<std::string> r) {
    if (!r) throw toBusError(r.error());
    return sdbus::ObjectPath(*r);
}

}  // namespace

ManagerObject::ManagerObject(BusContext& ctx) : ctx_(ctx), object_(sdbus::createObject(ctx.connection, kManagerPath)) {
    registerProperties<ManagerState>(*object_, kManagerInterface, managerProperties(), [&ctx]() -> const ManagerState& { return ctx.manager; });
    Inventory& inv = ctx.inventory;
    object_->registerMethod(kManagerInterface, "FindCard", "s", {"id"}, "o", {"card"}, [&inv](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string id;
            call >> id;
            auto card = inv.findCard(id);
            auto reply = call.createReply();
            reply << valueOrThrow(card ? Result<std::string>(cardPath(*card)) : Result<std::string>(card.error()));
            reply.send();
        });
    });
    object_->registerMethod(kManagerInterface, "FindVirtualFunction", "s", {"id"}, "o", {"vf"}, [&inv](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::string id;
            call >> id;
            auto vf = inv.findVf(id);
            auto reply = call.createReply();
            reply << valueOrThrow(vf ? Result<std::string>(vfPath(vf->card, vf->vf)) : Result<std::string>(vf.error()));
            reply.send();
        });
    });
    object_->registerMethod(kManagerInterface, "GetSummary", "", {}, "a(ussssdduttuus)a(uussssutu)", {"cards", "vfs"},
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
    object_->registerMethod(
        kManagerInterface, "Query", "sas", {"interface", "properties"}, "aoa{sv}", {"objects", "columns"}, [&inv](sdbus::MethodCall call) {
            guarded(call, [&] {
                std::string interface;
                std::vector<std::string> names;
                call >> interface >> names;
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
    object_->registerMethod(kManagerInterface, "ListJobs", "", {}, "ao", {"jobs"}, [&jobs = ctx.jobs](sdbus::MethodCall call) {
        guarded(call, [&] {
            std::vector<sdbus::ObjectPath> paths;
            for (const Job* j : jobs.all()) paths.emplace_back(jobPath(j->id));
            auto reply = call.createReply();
            reply << paths;
            reply.send();
        });
    });
    object_->addObjectManager();
    object_->finishRegistration();
}

ManagerObject::~ManagerObject() { object_->unregister(); }

void ManagerObject::changed(const std::vector<std::string>& properties) {
    object_->emitPropertiesChangedSignal(kManagerInterface, properties);
}

}  // namespace aismi::bus
