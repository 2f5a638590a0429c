#include "bus_objects.hpp"

#include "authorizer.hpp"
#include "bus_pump.hpp"
#include "engine.hpp"

#include "aismi-dbus/card1_adaptor.h"
#include "aismi-dbus/manager1_adaptor.h"
#include "aismi-dbus/virtualfunction1_adaptor.h"

#include <sdbus-c++/sdbus-c++.h>

#include <map>

namespace aismi {
namespace {

sdbus::Error busError(const Error& e) { return sdbus::Error(std::string(errcInfo(e.code).dbusName), e.message); }

template <class T>
T valueOrThrow(Result<T> r) {
    if (!r) throw busError(r.error());
    return std::move(*r);
}

class VfObject final
    : public sdbus::AdaptorInterfaces<org::aismi::VirtualFunction1_adaptor, sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor> {
public:
    VfObject(sdbus::IConnection& c, const Engine& engine, unsigned card, unsigned vf)
        : AdaptorInterfaces(c, vfPath(card, vf)), engine_(engine), card_(card), vf_(vf) {
        registerAdaptor();
    }
    ~VfObject() { unregisterAdaptor(); }

private:
    const VfSnapshot& s() const {
        static const VfSnapshot gone;
        const auto& vfs = engine_.cards().at(card_).vfs;
        return vf_ < vfs.size() ? vfs[vf_] : gone;  // between a snapshot and the object's removal
    }
    sdbus::ObjectPath Card() override { return cardPath(card_); }
    uint32_t CardIndex() override { return card_; }
    uint32_t Index() override { return vf_; }
    std::string PciAddress() override { return s().pciAddress; }
    std::string State() override { return s().state; }
    std::string Health() override { return std::string(healthName(s().health)); }
    std::string Driver() override { return s().driver; }
    int32_t IommuGroup() override { return s().iommuGroup; }
    uint32_t ComputeUnits() override { return s().resources.computeUnits; }
    uint64_t MemoryMiB() override { return s().resources.memoryMib; }
    uint32_t Engines() override { return s().resources.engines; }
    uint32_t UtilizationPercent() override { return s().utilizationPct; }
    uint64_t MemoryUsedMiB() override { return s().memoryUsedMib; }
    uint64_t EccCorrected() override { return s().eccCorrected; }
    uint64_t EccUncorrected() override { return s().eccUncorrected; }
    uint64_t ResetCount() override { return s().resetCount; }
    uint64_t Progress() override { return s().progress; }

    const Engine& engine_;
    unsigned card_, vf_;
};

class CardObject final
    : public sdbus::AdaptorInterfaces<org::aismi::Card1_adaptor, sdbus::ManagedObject_adaptor, sdbus::Properties_adaptor> {
public:
    CardObject(sdbus::IConnection& c, Engine& engine, Authorizer& auth, BusPump& pump, unsigned card)
        : AdaptorInterfaces(c, cardPath(card)), engine_(engine), auth_(auth), pump_(pump), card_(card) {
        registerAdaptor();
    }
    ~CardObject() { unregisterAdaptor(); }

    std::map<unsigned, std::unique_ptr<VfObject>> vfs;

private:
    const CardSnapshot& s() const { return engine_.cards().at(card_); }

    void SetVfCount(sdbus::Result<>&& result, uint32_t count) override {
        if (auto allowed = auth_.check(*getObject().getCurrentlyProcessedMessage(), kActionManageVfs); !allowed) {
            result.returnError(busError(allowed.error()));
            return;
        }
        auto reply = std::make_shared<sdbus::Result<>>(std::move(result));
        engine_.setVfCount(card_, count, [reply, &pump = pump_](Result<void> r) {
            if (r) reply->returnResults();
            else reply->returnError(busError(r.error()));
            pump.kick();  // the reply was queued from the loop thread outside a dispatch
        });
    }

    uint32_t Index() override { return card_; }
    std::string Name() override { return s().name; }
    std::string PciAddress() override { return s().pciAddress; }
    std::string Serial() override { return s().serial; }
    uint16_t VendorId() override { return s().vendorId; }
    uint16_t DeviceId() override { return s().deviceId; }
    bool GenericMode() override { return s().genericMode; }
    std::string Driver() override { return s().driver; }
    std::string FirmwareVersion() override { return s().firmwareVersion; }
    uint32_t FirmwareActiveBank() override { return s().firmwareActiveBank; }
    std::vector<std::string> FirmwareBankVersions() override { return s().firmwareBankVersions; }
    std::vector<std::string> FirmwareBankIntegrity() override { return s().firmwareBankIntegrity; }
    std::string Health() override { return std::string(healthName(s().health)); }
    std::vector<std::string> HealthReasons() override { return s().healthReasons; }
    double TemperatureC() override { return s().temperatureC; }
    double TemperatureCriticalC() override { return s().temperatureCritC; }
    double PowerW() override { return s().powerW; }
    double PowerCapW() override { return s().powerCapW; }
    uint32_t UtilizationPercent() override { return s().utilizationPct; }
    uint64_t MemoryUsedMiB() override { return s().memoryUsedMib; }
    uint64_t MemoryTotalMiB() override { return s().memoryTotalMib; }
    uint32_t ComputeUnits() override { return s().computeUnits; }
    uint32_t Engines() override { return s().engines; }
    uint64_t EccCorrected() override { return s().eccCorrected; }
    uint64_t EccUncorrected() override { return s().eccUncorrected; }
    uint64_t AerCorrectable() override { return s().aerCorrectable; }
    uint64_t AerNonFatal() override { return s().aerNonFatal; }
    uint64_t AerFatal() override { return s().aerFatal; }
    std::string LinkSpeed() override { return s().linkSpeed; }
    uint32_t LinkWidth() override { return s().linkWidth; }
    std::string LinkMaxSpeed() override { return s().linkMaxSpeed; }
    uint32_t LinkMaxWidth() override { return s().linkMaxWidth; }
    uint32_t VfTotal() override { return s().vfTotal; }
    uint32_t VfEnabled() override { return s().vfEnabled(); }
    std::vector<sdbus::ObjectPath> VirtualFunctions() override {
        std::vector<sdbus::ObjectPath> paths;
        for (const auto& vf : s().vfs) paths.emplace_back(vfPath(card_, vf.index));
        return paths;
    }

    Engine& engine_;
    Authorizer& auth_;
    BusPump& pump_;
    unsigned card_;
};

class ManagerObject final
    : public sdbus::AdaptorInterfaces<org::aismi::Manager1_adaptor, sdbus::ObjectManager_adaptor, sdbus::Properties_adaptor> {
public:
    ManagerObject(sdbus::IConnection& c, Engine& engine, ManagerInfo info)
        : AdaptorInterfaces(c, kManagerPath), engine_(engine), info_(std::move(info)) {
        registerAdaptor();
    }
    ~ManagerObject() { unregisterAdaptor(); }
    void setPollInterval(unsigned ms) {
        info_.pollIntervalMs = ms;
        emitPropertiesChangedSignal(org::aismi::Manager1_adaptor::INTERFACE_NAME, {"PollIntervalMs"});
    }

private:
    sdbus::ObjectPath FindCard(const std::string& id) override { return cardPath(valueOrThrow(engine_.findCard(id))); }
    sdbus::ObjectPath FindVirtualFunction(const std::string& id) override {
        auto [card, vf] = valueOrThrow(engine_.findVf(id));
        return vfPath(card, vf);
    }
    using CardRow = sdbus::Struct<uint32_t, std::string, std::string, std::string, std::string, double, double, uint32_t, uint64_t,
                                  uint64_t, uint32_t, uint32_t, std::string>;
    using VfRow = sdbus::Struct<uint32_t, uint32_t, std::string, std::string, std::string, std::string, uint32_t, uint64_t, uint32_t>;
    std::tuple<std::vector<CardRow>, std::vector<VfRow>> GetSummary() override {
        std::vector<CardRow> cards;
        std::vector<VfRow> vfs;
        for (const auto& c : engine_.cards()) {
            cards.emplace_back(c.index, c.name, c.pciAddress, c.serial, c.firmwareVersion, c.temperatureC, c.powerW, c.utilizationPct,
                               c.memoryUsedMib, c.memoryTotalMib, c.vfEnabled(), c.vfTotal, std::string(healthName(c.health)));
            for (const auto& v : c.vfs)
                vfs.emplace_back(c.index, v.index, v.pciAddress, v.state, std::string(healthName(v.health)), v.driver,
                                 v.resources.computeUnits, v.resources.memoryMib, v.utilizationPct);
        }
        return {std::move(cards), std::move(vfs)};
    }
    std::string Version() override { return info_.version; }
    std::string Backend() override { return info_.backend; }
    std::vector<sdbus::ObjectPath> Cards() override {
        std::vector<sdbus::ObjectPath> paths;
        for (const auto& c : engine_.cards()) paths.emplace_back(cardPath(c.index));
        return paths;
    }
    uint32_t PollIntervalMs() override { return info_.pollIntervalMs; }

    Engine& engine_;
    ManagerInfo info_;
};

}  // namespace

std::string cardPath(unsigned card) { return std::string(kManagerPath) + "/card" + std::to_string(card); }
std::string vfPath(unsigned card, unsigned vf) { return cardPath(card) + "/vf" + std::to_string(vf); }

struct BusObjects::Impl {
    sdbus::IConnection& connection;
    Engine& engine;
    BusPump& pump;
    std::unique_ptr<ManagerObject> manager;
    std::vector<std::unique_ptr<CardObject>> cards;
};

BusObjects::BusObjects(sdbus::IConnection& connection, Engine& engine, Authorizer& authorizer, BusPump& pump, ManagerInfo info)
    : impl_(new Impl{connection, engine, pump, nullptr, {}}) {
    impl_->manager = std::make_unique<ManagerObject>(connection, engine, std::move(info));
    for (const auto& c : engine.cards()) {
        auto card = std::make_unique<CardObject>(connection, engine, authorizer, pump, c.index);
        for (const auto& vf : c.vfs) card->vfs[vf.index] = std::make_unique<VfObject>(connection, engine, c.index, vf.index);
        impl_->cards.push_back(std::move(card));
    }
}

BusObjects::~BusObjects() = default;

void BusObjects::setPollInterval(unsigned ms) {
    impl_->manager->setPollInterval(ms);
    impl_->pump.kick();
}

void BusObjects::cardUpdated(unsigned index, const CardSnapshot& before) {
    const CardSnapshot& now = impl_->engine.cards().at(index);
    CardObject& card = *impl_->cards.at(index);
    if (auto changed = changedCardProperties(before, now); !changed.empty())
        card.emitPropertiesChangedSignal(org::aismi::Card1_adaptor::INTERFACE_NAME, changed);
    // VFs that vanished, then VFs that changed or appeared.
    for (auto it = card.vfs.begin(); it != card.vfs.end();) {
        if (it->first < now.vfs.size()) {
            ++it;
            continue;
        }
        it->second->emitInterfacesRemovedSignal();
        it = card.vfs.erase(it);
    }
    for (const auto& vf : now.vfs) {
        auto existing = card.vfs.find(vf.index);
        if (existing == card.vfs.end()) {
            auto object = std::make_unique<VfObject>(impl_->connection, impl_->engine, index, vf.index);
            object->emitInterfacesAddedSignal();
            card.vfs[vf.index] = std::move(object);
        } else if (vf.index < before.vfs.size()) {
            if (auto changed = changedVfProperties(before.vfs[vf.index], vf); !changed.empty())
                existing->second->emitPropertiesChangedSignal(org::aismi::VirtualFunction1_adaptor::INTERFACE_NAME, changed);
        }
    }
    impl_->pump.kick();
}

}  // namespace aismi
