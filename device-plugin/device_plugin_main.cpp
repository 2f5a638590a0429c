// aismi-device-plugin: advertises aismid's provisioned, free VFs to kubelet (device plugin API
// v1beta1), one resource per VF profile. A client of aismid over D-Bus like aismi: the VF list
// and its health come from aismid's signals, never from polling; gRPC and the kubelet socket
// stay out of the hardened daemon. A VF changes pods only reset and scrubbed: before every
// container start (PreStartContainer), and when kubelet's PodResources List shows no pod uses
// it any more (it is released). docs/kubernetes.md.
#include "daemon_client.hpp"
#include "kubelet_device_plugin.grpc.pb.h"
#include "kubelet_pod_resources.grpc.pb.h"
#include "plugin_model.hpp"
#include "version.hpp"

#include <aismi/text.hpp>

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace aismi::deviceplugin {
namespace {

constexpr const char* kUsage = R"(Usage: aismi-device-plugin [--kubelet-dir DIR] [--resource-prefix PREFIX]
                           [--pod-resources-socket PATH] [--pod-resources-interval SECONDS]

Advertises the VFs aismid has provisioned and that are free to kubelet, through the device
plugin API (v1beta1): one resource per VF profile, PREFIX/PROFILE (aismi.io/quarter), each
device a VF named by its PCI address, Unhealthy while aismid calls it critical or lost, has
quarantined it, or waits to scrub it. Registers with kubelet at DIR/kubelet.sock, serving one socket per
resource in DIR, and registers again when kubelet restarts. Allocate binds the VFs to vfio-pci
through aismid, which records them as held by kubelet, and returns /dev/vfio devices and
PCI_RESOURCE_<RESOURCE> (KubeVirt).

A VF changes pods only reset and scrubbed. kubelet calls PreStartContainer before every
container start (the plugin registers with pre_start_required): aismid resets the VFs and
scrubs their memory first, and the container does not start if that fails. The device plugin
API has no release call, so kubelet's PodResources API says which VFs pods still use: a VF
kubelet holds that two Lists in a row show no pod using is released (aismid resets and scrubs
it and gives it back to its host driver), and offered again.

Options:
  --kubelet-dir DIR        kubelet's device plugin directory (default /var/lib/kubelet/device-plugins)
  --resource-prefix PREFIX the resources' domain (default aismi.io)
  --pod-resources-socket PATH
                           kubelet's PodResources socket (default
                           /var/lib/kubelet/pod-resources/kubelet.sock); none: never release
  --pod-resources-interval SECONDS
                           how often to List (1 to 3600, default 10)
  -h, --help               this help
  --version                the version
)";

std::atomic<bool> stopping{false};

void log(const std::string& line) { std::cerr << "aismi-device-plugin: " << line << std::endl; }

// What the watcher learned from aismid, for the gRPC handlers: the resources and a counter
// that moves with every change.
class Shared {
public:
    void set(Resources r) {
        std::lock_guard<std::mutex> lock(m_);
        if (r == resources_) return;
        resources_ = std::move(r);
        ++generation_;
        cv_.notify_all();
    }
    void setKubeletHeld(std::set<std::string> held) {
        std::lock_guard<std::mutex> lock(m_);
        kubeletHeld_ = std::move(held);
    }
    /// The VFs aismid lists as held by kubelet, by PCI address.
    std::set<std::string> kubeletHeld() const {
        std::lock_guard<std::mutex> lock(m_);
        return kubeletHeld_;
    }
    Resources get(uint64_t* generation = nullptr) const {
        std::lock_guard<std::mutex> lock(m_);
        if (generation) *generation = generation_;
        return resources_;
    }
    /// Waits until the generation differs from `seen` or `timeout` passes.
    void waitChange(uint64_t seen, std::chrono::milliseconds timeout) const {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait_for(lock, timeout, [&] { return generation_ != seen || stopping; });
    }
    void wake() { cv_.notify_all(); }

private:
    mutable std::mutex m_;
    mutable std::condition_variable cv_;
    Resources resources_;
    std::set<std::string> kubeletHeld_;
    uint64_t generation_ = 0;
};

std::vector<VfView> vfsOf(const client::Inventory& inv) {
    std::map<uint64_t, int> numa;  // card index -> NUMA node
    for (const auto& card : inv.cards)
        if (const auto* n = std::get_if<int64_t>(&card.get("NumaNode"))) numa[card.number("Index")] = static_cast<int>(*n);
    std::vector<VfView> out;
    for (const auto& vf : inv.vfs) {
        VfView v;
        v.address = vf.text("PciAddress");
        v.card = static_cast<unsigned>(vf.number("CardIndex"));
        v.profile = vf.text("Profile");
        v.domain = vf.text("Domain");
        v.holder = vf.text("Holder");
        v.health = vf.text("Health");
        const auto* q = std::get_if<bool>(&vf.get("Quarantined"));
        v.quarantined = q && *q;
        const auto* s = std::get_if<bool>(&vf.get("ScrubPending"));
        v.scrubPending = s && *s;
        // IommuGroup is an "i" on the bus (-1: none).
        if (const auto* g = std::get_if<int64_t>(&vf.get("IommuGroup")); g && *g >= 0) v.iommuGroup = static_cast<unsigned>(*g);
        if (auto it = numa.find(v.card); it != numa.end()) v.numaNode = it->second;
        out.push_back(std::move(v));
    }
    return out;
}

grpc::Status error(grpc::StatusCode code, const std::string& what) { return grpc::Status(code, what); }

class PluginService final : public v1beta1::DevicePlugin::Service {
public:
    PluginService(std::string resource, Shared& shared) : resource_(std::move(resource)), shared_(shared) {}

    grpc::Status GetDevicePluginOptions(grpc::ServerContext*, const v1beta1::Empty*, v1beta1::DevicePluginOptions* out) override {
        out->set_pre_start_required(true);
        out->set_get_preferred_allocation_available(true);
        return grpc::Status::OK;
    }

    grpc::Status ListAndWatch(grpc::ServerContext* ctx, const v1beta1::Empty*, grpc::ServerWriter<v1beta1::ListAndWatchResponse>* writer) override {
        uint64_t seen = ~uint64_t{0};
        std::vector<PluginDevice> last;
        bool first = true;
        while (!ctx->IsCancelled() && !stopping) {
            uint64_t generation = 0;
            const Resources now = shared_.get(&generation);
            if (generation != seen) {
                seen = generation;
                auto it = now.find(resource_);
                const std::vector<PluginDevice> devices = it == now.end() ? std::vector<PluginDevice>{} : it->second;
                if (first || devices != last) {
                    v1beta1::ListAndWatchResponse r;
                    for (const auto& d : devices) {
                        auto* dev = r.add_devices();
                        dev->set_id(d.id);
                        dev->set_health(d.healthy ? "Healthy" : "Unhealthy");
                        if (d.numaNode >= 0) dev->mutable_topology()->add_nodes()->set_id(d.numaNode);
                    }
                    if (!writer->Write(r)) break;  // kubelet went away
                    last = devices;
                    first = false;
                }
            }
            shared_.waitChange(seen, std::chrono::milliseconds(500));
        }
        return grpc::Status::OK;
    }

    grpc::Status GetPreferredAllocation(grpc::ServerContext*, const v1beta1::PreferredAllocationRequest* req, v1beta1::PreferredAllocationResponse* out) override {
        const auto known = devices();
        for (const auto& c : req->container_requests()) {
            if (c.allocation_size() < 0) return error(grpc::StatusCode::INVALID_ARGUMENT, "allocation_size is negative");
            std::vector<std::string> available(c.available_deviceids().begin(), c.available_deviceids().end());
            std::vector<std::string> must(c.must_include_deviceids().begin(), c.must_include_deviceids().end());
            auto* r = out->add_container_responses();
            for (const auto& id : preferredAllocation(available, must, static_cast<size_t>(c.allocation_size()), known)) r->add_deviceids(id);
        }
        return grpc::Status::OK;
    }

    grpc::Status Allocate(grpc::ServerContext*, const v1beta1::AllocateRequest* req, v1beta1::AllocateResponse* out) override {
        // Every device must be one of this resource's, free and healthy now; nothing is bound
        // before all are checked.
        auto known = devices();
        for (const auto& c : req->container_requests())
            for (const auto& id : c.devices_ids()) {
                auto it = known.find(id);
                if (it == known.end())
                    return error(grpc::StatusCode::NOT_FOUND, "Allocate: " + id + " is not a free VF of " + resource_ + " (taken, released or never provisioned)");
                if (!it->second.healthy) return error(grpc::StatusCode::FAILED_PRECONDITION, "Allocate: " + id + " is unhealthy");
                if (!it->second.iommuGroup) return error(grpc::StatusCode::FAILED_PRECONDITION, "Allocate: " + id + " has no IOMMU group");
            }
        auto client = client::DaemonClient::connect();
        if (!client) return error(grpc::StatusCode::UNAVAILABLE, "Allocate: " + client.error().message);
        for (const auto& c : req->container_requests()) {
            auto* r = out->add_container_responses();
            std::string bdfs;
            auto* vfio = r->add_devices();
            vfio->set_container_path("/dev/vfio/vfio");
            vfio->set_host_path("/dev/vfio/vfio");
            vfio->set_permissions("mrw");
            std::set<unsigned> groups;
            for (const auto& id : c.devices_ids()) {
                auto path = (*client)->findVf(id);
                if (!path) return error(grpc::StatusCode::NOT_FOUND, "Allocate: " + path.error().message);
                // aismid records it as kubelet's (nobody else gets it) and binds it to vfio-pci.
                if (auto b = (*client)->hold(*path, kKubeletHolder); !b)
                    return error(grpc::StatusCode::FAILED_PRECONDITION, "Allocate: " + id + ": " + b.error().message);
                const unsigned group = *known[id].iommuGroup;
                if (groups.insert(group).second) {
                    auto* dev = r->add_devices();
                    dev->set_container_path("/dev/vfio/" + std::to_string(group));
                    dev->set_host_path("/dev/vfio/" + std::to_string(group));
                    dev->set_permissions("mrw");
                }
                bdfs += (bdfs.empty() ? "" : ",") + id;
            }
            (*r->mutable_envs())[pciResourceEnv(resource_)] = bdfs;
        }
        return grpc::Status::OK;
    }

    // Before every container start: whatever the last pod (or this pod's last container) left in
    // the VFs goes. A VF that cannot be scrubbed fails the start.
    grpc::Status PreStartContainer(grpc::ServerContext*, const v1beta1::PreStartContainerRequest* req, v1beta1::PreStartContainerResponse*) override {
        if (req->devices_ids().empty()) return grpc::Status::OK;
        const auto known = devices();
        for (const auto& id : req->devices_ids())
            if (!known.count(id)) return error(grpc::StatusCode::NOT_FOUND, "PreStartContainer: " + id + " is not a VF of " + resource_);
        auto client = client::DaemonClient::connect();
        if (!client) return error(grpc::StatusCode::UNAVAILABLE, "PreStartContainer: " + client.error().message);
        for (const auto& id : req->devices_ids()) {
            auto path = (*client)->findVf(id);
            if (!path) return error(grpc::StatusCode::NOT_FOUND, "PreStartContainer: " + path.error().message);
            if (auto s = (*client)->scrub(*path); !s)
                return error(grpc::StatusCode::FAILED_PRECONDITION, "PreStartContainer: " + id + ": " + s.error().message);
        }
        return grpc::Status::OK;
    }

private:
    /// This resource's devices as aismid last described them, by ID.
    std::map<std::string, PluginDevice> devices() const {
        std::map<std::string, PluginDevice> out;
        const Resources now = shared_.get();
        if (auto it = now.find(resource_); it != now.end())
            for (const auto& d : it->second) out[d.id] = d;
        return out;
    }

    std::string resource_;
    Shared& shared_;
};

// One resource's gRPC server on its socket in kubelet's directory, and its registration.
class ResourceServer {
public:
    ResourceServer(std::string resource, const std::string& dir, Shared& shared)
        : resource_(std::move(resource)), socket_(socketNameOf(resource_)), path_(dir + "/" + socket_), service_(resource_, shared) {}
    ~ResourceServer() { stop(); }

    bool start() {
        ::unlink(path_.c_str());
        grpc::ServerBuilder builder;
        builder.AddListeningPort("unix://" + path_, grpc::InsecureServerCredentials());
        builder.RegisterService(&service_);
        server_ = builder.BuildAndStart();
        if (!server_) log(resource_ + ": cannot serve on " + path_);
        return server_ != nullptr;
    }
    void stop() {
        if (!server_) return;
        server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
        server_.reset();
        ::unlink(path_.c_str());
    }
    /// kubelet removes every socket in its directory when it restarts.
    bool socketGone() const {
        struct stat st {};
        return ::stat(path_.c_str(), &st) != 0;
    }
    bool registerWith(const std::string& kubeletSocket) {
        auto channel = grpc::CreateChannel("unix://" + kubeletSocket, grpc::InsecureChannelCredentials());
        auto stub = v1beta1::Registration::NewStub(channel);
        v1beta1::RegisterRequest req;
        req.set_version("v1beta1");
        req.set_endpoint(socket_);
        req.set_resource_name(resource_);
        req.mutable_options()->set_get_preferred_allocation_available(true);
        req.mutable_options()->set_pre_start_required(true);
        v1beta1::Empty reply;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        const grpc::Status s = stub->Register(&ctx, req, &reply);
        if (!s.ok()) {
            if (lastError_ != s.error_message()) log(resource_ + ": kubelet did not take the registration (" + s.error_message() + "); trying again");
            lastError_ = s.error_message();
            return false;
        }
        lastError_.clear();
        log(resource_ + ": registered with kubelet, serving " + path_);
        return true;
    }

private:
    std::string resource_, socket_, path_;
    PluginService service_;
    std::unique_ptr<grpc::Server> server_;
    std::string lastError_;
};

// Follows aismid, reconnecting after 1, 2, 4 ... 30 s while it is away.
void watchAismid(Shared& shared, const std::string& prefix) {
    unsigned delay = 1;
    while (!stopping) {
        auto client = client::DaemonClient::connect();
        Result<void> watched = client ? Result<void>() : Result<void>(client.error());
        if (client) {
            watched = (*client)->watch(
                std::chrono::seconds(1),
                [&](const client::Inventory& inv) {
                    delay = 1;
                    const auto vfs = vfsOf(inv);
                    std::set<std::string> held;
                    for (const auto& vf : vfs)
                        if (vf.holder == kKubeletHolder) held.insert(vf.address);
                    shared.setKubeletHeld(std::move(held));
                    shared.set(resourcesOf(vfs, prefix));
                    return !stopping.load();
                },
                true);
        }
        if (stopping) return;
        log("aismid: " + (watched ? std::string("the watch ended") : watched.error().message) + "; trying again in " + std::to_string(delay) + " s");
        for (unsigned i = 0; i < delay * 10 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        delay = std::min(30u, delay * 2);
    }
}

// Lists kubelet's pods every `interval` and releases the VFs kubelet holds that none uses any
// more (UnusedHolds: missing from two Lists in a row). While kubelet does not answer nothing
// is released.
void watchPodResources(Shared& shared, const std::string& socket, const std::string& prefix, unsigned interval) {
    auto stub = v1::PodResourcesLister::NewStub(grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials()));
    UnusedHolds unused;
    std::string lastProblem;
    const auto problem = [&](const std::string& what) {
        if (what != lastProblem) log("PodResources at " + socket + ": " + what + "; VFs kubelet holds stay held until it answers");
        lastProblem = what;
    };
    while (!stopping) {
        for (unsigned i = 0; i < interval * 10 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (stopping) return;
        v1::ListPodResourcesRequest req;
        v1::ListPodResourcesResponse reply;
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        if (const grpc::Status s = stub->List(&ctx, req, &reply); !s.ok()) {
            problem(s.error_message());
            continue;
        }
        if (!lastProblem.empty()) log("PodResources at " + socket + ": answering again");
        lastProblem.clear();
        std::set<std::string> inUse;
        for (const auto& pod : reply.pod_resources())
            for (const auto& container : pod.containers())
                for (const auto& devices : container.devices())
                    if (devices.resource_name().rfind(prefix + "/", 0) == 0) inUse.insert(devices.device_ids().begin(), devices.device_ids().end());
        const auto release = unused.observe(shared.kubeletHeld(), inUse);
        if (release.empty()) continue;
        auto client = client::DaemonClient::connect();
        if (!client) {
            log("cannot release VFs no pod uses (" + client.error().message + "); trying at the next List");
            continue;
        }
        for (const auto& vf : release) {
            auto path = (*client)->findVf(vf);
            Result<void> released = path ? (*client)->release(*path) : Result<void>(path.error());
            log(vf + ": no pod uses it any more; " + (released ? "released (reset, scrubbed, back to its host driver)" : "release failed: " + released.error().message));
        }
    }
}

int run(const std::vector<std::string>& args) {
    std::string dir = "/var/lib/kubelet/device-plugins", prefix = "aismi.io", podResources = "/var/lib/kubelet/pod-resources/kubelet.sock";
    unsigned interval = 10;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const auto value = [&](const std::string& name) -> std::optional<std::string> {
            if (a.rfind(name + "=", 0) == 0) return a.substr(name.size() + 1);
            if (a == name && i + 1 < args.size()) return args[++i];
            return std::nullopt;
        };
        if (a == "-h" || a == "--help") return std::cout << kUsage, 0;
        if (a == "--version") return std::cout << "aismi-device-plugin " << kAismiVersion << "\n", 0;
        if (auto v = value("--kubelet-dir")) dir = *v;
        else if (auto p = value("--resource-prefix")) prefix = *p;
        else if (auto s = value("--pod-resources-socket")) podResources = *s;
        else if (auto n = value("--pod-resources-interval")) {
            const bool digits = !n->empty() && n->size() <= 4 && std::all_of(n->begin(), n->end(), [](char c) { return c >= '0' && c <= '9'; });
            auto parsed = digits ? text::parseUnsigned(*n, "--pod-resources-interval") : Result<uint64_t>(makeError(Errc::InvalidArgument, ""));
            if (!parsed || *parsed < 1 || *parsed > 3600) {
                std::cerr << "aismi-device-plugin: --pod-resources-interval takes 1 to 3600 seconds, not '" << text::escapeControl(*n) << "'\n";
                return 2;
            }
            interval = static_cast<unsigned>(*parsed);
        } else {
            std::cerr << "aismi-device-plugin: unknown or incomplete option '" << text::escapeControl(a) << "' (aismi-device-plugin --help)\n";
            return 2;
        }
    }
    if (podResources != "none" && (podResources.empty() || podResources[0] != '/' || text::firstControlCharacter(podResources))) {
        std::cerr << "aismi-device-plugin: --pod-resources-socket takes an absolute path, or none, not '" << text::escapeControl(podResources) << "'\n";
        return 2;
    }
    if (!validResourcePrefix(prefix)) {
        std::cerr << "aismi-device-plugin: --resource-prefix takes a DNS subdomain (aismi.io), not '" << text::escapeControl(prefix) << "'\n";
        return 2;
    }
    struct stat st {};
    if (dir.empty() || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        std::cerr << "aismi-device-plugin: --kubelet-dir " << text::escapeControl(dir) << " is not a directory\n";
        return 2;
    }
    std::signal(SIGTERM, [](int) { stopping = true; });
    std::signal(SIGINT, [](int) { stopping = true; });
    std::signal(SIGPIPE, SIG_IGN);
    Shared shared;
    std::thread watcher([&] { watchAismid(shared, prefix); });
    std::thread pods;
    if (podResources != "none") pods = std::thread([&] { watchPodResources(shared, podResources, prefix, interval); });
    else log("--pod-resources-socket none: VFs kubelet was given are released only by hand (aismi vf release)");
    std::map<std::string, std::unique_ptr<ResourceServer>> servers;
    std::set<std::string> registered;
    const std::string kubelet = dir + "/kubelet.sock";
    log("serving resources " + prefix + "/<profile> to kubelet at " + kubelet);
    while (!stopping) {
        for (const auto& [name, devices] : shared.get()) {
            auto& server = servers[name];
            if (server && server->socketGone()) {
                log(name + ": its socket is gone (kubelet restarted?); serving and registering again");
                server.reset();
                registered.erase(name);
            }
            if (!server) {
                server = std::make_unique<ResourceServer>(name, dir, shared);
                if (!server->start()) {
                    server.reset();
                    continue;
                }
            }
            if (!registered.count(name) && server->registerWith(kubelet)) registered.insert(name);
        }
        for (int i = 0; i < 5 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    log("stopping");
    shared.wake();
    servers.clear();
    watcher.join();
    if (pods.joinable()) pods.join();
    return 0;
}

}  // namespace
}  // namespace aismi::deviceplugin

int main(int argc, char** argv) {
    try {
        return aismi::deviceplugin::run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& e) {
        std::cerr << "aismi-device-plugin: unexpected failure: " << e.what() << "\n";
        return 1;
    }
}
