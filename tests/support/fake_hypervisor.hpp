// A faithful stand-in for libvirt behind the Hypervisor seam: domains with a live and a
// persistent definition, hostdevs attached and detached by scope as libvirt does it (a live
// attach needs a running domain; a detach of something absent fails), lifecycle changes that
// emit events, and failures on demand. libvirt's own test driver cannot attach devices live,
// so unit tests use this one; the integration tests use the real libvirtd.
#pragma once

#include "hypervisor.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace aismi::test {

class FakeHypervisor : public Hypervisor {
public:
    struct Dom {
        bool active = false;
        bool persistent = true;
        std::vector<PciAddress> live;
        std::vector<PciAddress> config;
        std::string tenant;
    };

    std::string uri() const override { return "fake:///"; }
    Result<void> connect() override {
        std::lock_guard lock(mutex_);
        if (down) return makeError(Errc::ServiceUnavailable, "fake libvirt is down");
        connected_ = true;
        if (events) events(HypervisorEvent{HypervisorEvent::Kind::Connected, {}, {}});
        return {};
    }
    bool connected() const override {
        std::lock_guard lock(mutex_);
        return connected_;
    }
    Result<std::vector<Domain>> domains() override {
        std::lock_guard lock(mutex_);
        if (!connected_) return makeError(Errc::ServiceUnavailable, "not connected");
        std::vector<Domain> out;
        for (const auto& [name, d] : doms) out.push_back(describe(name, d));
        return out;
    }
    Result<Domain> domain(const std::string& name) override {
        std::lock_guard lock(mutex_);
        if (!connected_) return makeError(Errc::ServiceUnavailable, "not connected");
        auto it = doms.find(name);
        if (it == doms.end()) return makeError(Errc::NotFound, "libvirt has no domain '" + name + "'");
        return describe(name, it->second);
    }
    Result<void> attach(const std::string& name, const PciAddress& a, Scope scope) override { return change(name, a, scope, true); }
    Result<void> detach(const std::string& name, const PciAddress& a, Scope scope) override { return change(name, a, scope, false); }

    // Test controls (loop thread or test thread; the worker holds the mutex while it reads).
    void define(const std::string& name, Dom d) {
        {
            std::lock_guard lock(mutex_);
            doms[name] = std::move(d);
        }
        emit(HypervisorEvent::Kind::DomainDefined, name);
    }
    void undefine(const std::string& name) {
        {
            std::lock_guard lock(mutex_);
            doms.erase(name);
        }
        emit(HypervisorEvent::Kind::DomainUndefined, name);
    }
    void stop(const std::string& name) {
        {
            std::lock_guard lock(mutex_);
            auto& d = doms.at(name);
            d.active = false;
            d.live = d.config;
        }
        emit(HypervisorEvent::Kind::DomainStopped, name);
    }
    Dom get(const std::string& name) {
        std::lock_guard lock(mutex_);
        return doms.at(name);
    }
    bool has(const std::string& name) {
        std::lock_guard lock(mutex_);
        return doms.count(name) > 0;
    }
    void emit(HypervisorEvent::Kind kind, const std::string& name) {
        if (events) events(HypervisorEvent{kind, name, {}});
    }

    HypervisorEvents events;               // set by the test: post to the loop
    std::set<std::pair<bool, Scope>> fail;  // {attach?, scope}: that call fails (LibvirtFailed)
    bool down = false;
    bool slowUnplug = false;  // a live detach answers before the guest lets go (the device stays)
    unsigned calls = 0;

private:
    Domain describe(const std::string& name, const Dom& d) const {
        Domain out;
        out.name = name;
        out.uuid = "00000000-0000-0000-0000-" + std::string(12 - std::min<size_t>(12, name.size()), '0') + name.substr(0, 12);
        out.active = d.active;
        out.persistent = d.persistent;
        out.live.name = name;
        out.live.pciHostdevs = d.active ? d.live : d.config;
        out.live.tenant = d.tenant;
        if (d.persistent) out.config = vfio::DomainXml{name, out.uuid, d.config, d.tenant};
        return out;
    }
    Result<void> change(const std::string& name, const PciAddress& a, Scope scope, bool add) {
        std::lock_guard lock(mutex_);
        ++calls;
        if (!connected_) return makeError(Errc::ServiceUnavailable, "not connected");
        if (fail.count({add, scope})) return makeError(Errc::LibvirtFailed, "libvirt: injected failure");
        auto it = doms.find(name);
        if (it == doms.end()) return makeError(Errc::NotFound, "libvirt has no domain '" + name + "'");
        Dom& d = it->second;
        if (scope == Scope::Live && !d.active) return makeError(Errc::LibvirtFailed, "libvirt: domain is not running");
        if (scope == Scope::Config && !d.persistent) return makeError(Errc::LibvirtFailed, "libvirt: cannot modify a transient domain's config");
        auto& list = scope == Scope::Live ? d.live : d.config;
        const bool present = std::find(list.begin(), list.end(), a) != list.end();
        if (add && present) return makeError(Errc::LibvirtFailed, "libvirt: PCI device " + a.str() + " is in use by domain " + name);
        if (!add && !present) return makeError(Errc::LibvirtFailed, "libvirt: device not found");
        if (!add && scope == Scope::Live && slowUnplug) return {};
        if (add) list.push_back(a);
        else list.erase(std::find(list.begin(), list.end(), a));
        return {};
    }

    mutable std::mutex mutex_;
    bool connected_ = false;
    std::map<std::string, Dom> doms;
};

}  // namespace aismi::test
