// libvirt behind the Hypervisor seam. libvirt's default event loop runs on a thread of its
// own (registered once, before any connection, as libvirt requires); lifecycle events and a
// closed connection are handed to the daemon's callback from there. The connection is
// guarded by a mutex because the event thread drops it when libvirtd goes away while a call
// may be running on the libvirt worker; nothing else of the daemon is touched here.
#include "hypervisor.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <mutex>
#include <thread>

namespace aismi {

namespace {

void silence(void*, virErrorPtr) {}  // errors are read with virGetLastError, never printed

// The error of the last libvirt call on this thread, as ours.
Error lastError(const std::string& what) {
    virErrorPtr e = virGetLastError();
    std::string message = e && e->message ? e->message : "unknown libvirt error";
    Errc code = Errc::LibvirtFailed;
    if (e) {
        switch (e->code) {
        case VIR_ERR_NO_DOMAIN: code = Errc::NotFound; break;
        case VIR_ERR_NO_SUPPORT: code = Errc::NotSupported; break;
        case VIR_ERR_NO_CONNECT:
        case VIR_ERR_SYSTEM_ERROR:
        case VIR_ERR_RPC:
        case VIR_ERR_INVALID_CONN: code = Errc::ServiceUnavailable; break;
        default: break;
        }
    }
    virResetLastError();
    return makeError(code, what + ": " + message);
}

// libvirt's event loop: registered once per process, run by one thread for the process's life.
class EventLoop {
public:
    static bool start() {
        static EventLoop loop;
        return loop.ok_;
    }

private:
    EventLoop() {
        virSetErrorFunc(nullptr, silence);
        if (virEventRegisterDefaultImpl() < 0) return;
        ok_ = true;
        std::thread([] {
            for (;;) virEventRunDefaultImpl();  // never returns while the process lives
        }).detach();
    }
    bool ok_ = false;
};

struct DomainFree {
    void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using DomainRef = std::unique_ptr<virDomain, DomainFree>;
struct ConnClose {
    void operator()(virConnectPtr c) const { virConnectClose(c); }
};
// A call's own reference to the connection: it survives the event thread dropping the
// daemon's reference when libvirtd goes away mid-call.
using ConnRef = std::unique_ptr<virConnect, ConnClose>;

class LibvirtHypervisor : public Hypervisor {
public:
    LibvirtHypervisor(std::string uri, HypervisorEvents events) : uri_(std::move(uri)), events_(std::move(events)) {}
    ~LibvirtHypervisor() override { drop(); }

    std::string uri() const override { return uri_; }
    bool connected() const override {
        std::lock_guard lock(mutex_);
        return conn_ != nullptr;
    }

    Result<void> connect() override {
        if (connected()) return {};
        if (!EventLoop::start()) return lastError("libvirt: start the event loop");
        virConnectPtr c = virConnectOpen(uri_.c_str());
        if (!c) {
            Error e = lastError("connect to libvirt at " + uri_);
            if (e.code == Errc::LibvirtFailed) e.code = Errc::ServiceUnavailable;
            return e;
        }
        // Keepalive finds a libvirtd that stopped answering (5 s, 3 misses) and closes the link.
        (void)virConnectSetKeepAlive(c, 5, 3);
        if (virConnectRegisterCloseCallback(c, &LibvirtHypervisor::onClose, this, nullptr) < 0 ||
            (callbackId_ = virConnectDomainEventRegisterAny(c, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                            VIR_DOMAIN_EVENT_CALLBACK(&LibvirtHypervisor::onLifecycle), this,
                                                            nullptr)) < 0) {
            Error e = lastError("libvirt at " + uri_ + ": subscribe to domain events");
            virConnectClose(c);
            return e;
        }
        {
            std::lock_guard lock(mutex_);
            conn_ = c;
        }
        events_(HypervisorEvent{HypervisorEvent::Kind::Connected, {}, {}});
        return {};
    }

    Result<std::vector<Domain>> domains() override {
        auto c = connection();
        if (!c) return std::move(c).error();
        virDomainPtr* list = nullptr;
        const int n = virConnectListAllDomains(c->get(), &list, 0);
        if (n < 0) return lastError("libvirt at " + uri_ + ": list domains");
        std::vector<DomainRef> refs;
        for (int i = 0; i < n; ++i) refs.emplace_back(list[i]);
        free(list);
        std::vector<Domain> out;
        for (auto& d : refs) {
            auto one = describe(d.get());
            if (!one && one.error().code == Errc::NotFound) continue;  // undefined meanwhile
            if (!one) return std::move(one).error();
            out.push_back(std::move(*one));
        }
        return out;
    }

    Result<Domain> domain(const std::string& name) override {
        auto d = lookup(name);
        if (!d) return std::move(d).error();
        return describe(d->get());
    }

    Result<void> attach(const std::string& name, const PciAddress& address, Scope scope) override {
        return change(name, address, scope, true);
    }
    Result<void> detach(const std::string& name, const PciAddress& address, Scope scope) override {
        return change(name, address, scope, false);
    }

private:
    Result<ConnRef> connection() {
        std::lock_guard lock(mutex_);
        if (!conn_) return makeError(Errc::ServiceUnavailable, "libvirt at " + uri_ + " is not connected");
        virConnectRef(conn_);
        return ConnRef(conn_);
    }

    Result<DomainRef> lookup(const std::string& name) {
        auto c = connection();
        if (!c) return std::move(c).error();
        DomainRef d(virDomainLookupByName(c->get(), name.c_str()));
        if (!d) {
            Error e = lastError("libvirt: domain '" + name + "'");
            if (e.code == Errc::NotFound) e.message = "libvirt has no domain '" + name + "'";
            return e;
        }
        return d;
    }

    Result<Domain> describe(virDomainPtr d) {
        Domain out;
        const char* name = virDomainGetName(d);
        out.name = name ? name : "";
        char uuid[VIR_UUID_STRING_BUFLEN] = {};
        if (virDomainGetUUIDString(d, uuid) == 0) out.uuid = uuid;
        const int active = virDomainIsActive(d);
        const int persistent = virDomainIsPersistent(d);
        if (active < 0 || persistent < 0) return lastError("libvirt: domain '" + out.name + "'");
        out.active = active == 1;
        out.persistent = persistent == 1;
        auto live = xml(d, 0, out.name);
        if (!live) return std::move(live).error();
        out.live = std::move(*live);
        if (out.persistent) {
            auto config = xml(d, VIR_DOMAIN_XML_INACTIVE, out.name);
            if (!config) return std::move(config).error();
            out.config = std::move(*config);
        }
        return out;
    }

    Result<vfio::DomainXml> xml(virDomainPtr d, unsigned flags, const std::string& name) {
        char* text = virDomainGetXMLDesc(d, flags);
        if (!text) return lastError("libvirt: domain '" + name + "': read its XML");
        auto parsed = vfio::parseDomainXml(text);
        free(text);
        return parsed;
    }

    Result<void> change(const std::string& name, const PciAddress& address, Scope scope, bool add) {
        auto d = lookup(name);
        if (!d) return std::move(d).error();
        const std::string what = std::string(add ? "give" : "take") + " domain '" + name + "' " + (add ? "" : "back ") +
                                 address.str() + (scope == Scope::Live ? " (live)" : " (persistent)");
        const std::string hostdev = vfio::hostdevXml(address);
        const unsigned flags = scope == Scope::Live ? VIR_DOMAIN_AFFECT_LIVE : VIR_DOMAIN_AFFECT_CONFIG;
        const int r = add ? virDomainAttachDeviceFlags(d->get(), hostdev.c_str(), flags)
                          : virDomainDetachDeviceFlags(d->get(), hostdev.c_str(), flags);
        if (r == 0) return {};
        Error e = lastError("libvirt: " + what);
        if (e.code != Errc::NotSupported || scope == Scope::Live) return e;
        // A driver without persistent device changes (the test driver): edit the definition
        // and define it again, as `virsh edit` does.
        char* text = virDomainGetXMLDesc(d->get(), VIR_DOMAIN_XML_INACTIVE | VIR_DOMAIN_XML_SECURE);
        if (!text) return lastError("libvirt: " + what + ": read the definition");
        auto edited = add ? vfio::withHostdev(text, address) : vfio::withoutHostdev(text, address);
        free(text);
        if (!edited) return std::move(edited).error().context(what);
        auto c = connection();
        if (!c) return std::move(c).error();
        DomainRef defined(virDomainDefineXML(c->get(), edited->c_str()));
        if (!defined) return lastError("libvirt: " + what + ": define the edited domain");
        return {};
    }

    void drop() {
        virConnectPtr c = nullptr;
        {
            std::lock_guard lock(mutex_);
            std::swap(c, conn_);
        }
        if (!c) return;
        if (callbackId_ >= 0) (void)virConnectDomainEventDeregisterAny(c, callbackId_);
        callbackId_ = -1;
        (void)virConnectUnregisterCloseCallback(c, &LibvirtHypervisor::onClose);
        virConnectClose(c);
        virResetLastError();
    }

    static void onClose(virConnectPtr, int reason, void* self) {
        auto* h = static_cast<LibvirtHypervisor*>(self);
        const char* why = reason == VIR_CONNECT_CLOSE_REASON_EOF        ? "libvirtd closed the connection"
                          : reason == VIR_CONNECT_CLOSE_REASON_KEEPALIVE ? "libvirtd stopped answering keepalives"
                          : reason == VIR_CONNECT_CLOSE_REASON_ERROR     ? "the connection failed"
                                                                         : "the connection was closed";
        // Dropping the connection from inside its own close callback is allowed: libvirt
        // holds a reference for the callback's duration.
        {
            std::lock_guard lock(h->mutex_);
            if (h->conn_) {
                virConnectClose(h->conn_);
                h->conn_ = nullptr;
                h->callbackId_ = -1;
            }
        }
        h->events_(HypervisorEvent{HypervisorEvent::Kind::Disconnected, {}, why});
    }

    static int onLifecycle(virConnectPtr, virDomainPtr d, int event, int, void* self) {
        auto* h = static_cast<LibvirtHypervisor*>(self);
        HypervisorEvent e;
        switch (event) {
        case VIR_DOMAIN_EVENT_DEFINED: e.kind = HypervisorEvent::Kind::DomainDefined; break;
        case VIR_DOMAIN_EVENT_UNDEFINED: e.kind = HypervisorEvent::Kind::DomainUndefined; break;
        case VIR_DOMAIN_EVENT_STARTED: e.kind = HypervisorEvent::Kind::DomainStarted; break;
        case VIR_DOMAIN_EVENT_STOPPED: e.kind = HypervisorEvent::Kind::DomainStopped; break;
        default: e.kind = HypervisorEvent::Kind::DomainOther; break;
        }
        const char* name = virDomainGetName(d);
        e.domain = name ? name : "";
        h->events_(std::move(e));
        return 0;
    }

    const std::string uri_;
    HypervisorEvents events_;
    mutable std::mutex mutex_;
    virConnectPtr conn_ = nullptr;
    int callbackId_ = -1;
};

}  // namespace

std::unique_ptr<Hypervisor> makeLibvirtHypervisor(const std::string& uri, HypervisorEvents events) {
    return std::make_unique<LibvirtHypervisor>(uri, std::move(events));
}

}  // namespace aismi
