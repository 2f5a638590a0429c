// aismi-device-plugin between the real aismid (simulated cards, a private bus) and a fake
// kubelet written with the same gRPC library: registration per profile, ListAndWatch driven by
// aismid's signals (a fault and its clearing, a quarantine), Allocate's specs and environment,
// refusals, a kubelet restart and an aismid restart; and a VF that changes pods only reset and
// scrubbed (PreStartContainer, and a fake PodResources server saying which pods use what).
#include "kubelet_device_plugin.grpc.pb.h"
#include "kubelet_pod_resources.grpc.pb.h"
#include "stack.hpp"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

using namespace aismi::test;

namespace {

// kubelet's side of registration: a Registration server on DIR/kubelet.sock.
class FakeKubelet final : public v1beta1::Registration::Service {
public:
    explicit FakeKubelet(const std::string& dir) {
        grpc::ServerBuilder builder;
        builder.AddListeningPort("unix://" + dir + "/kubelet.sock", grpc::InsecureServerCredentials());
        builder.RegisterService(this);
        server_ = builder.BuildAndStart();
    }
    ~FakeKubelet() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200)); }

    grpc::Status Register(grpc::ServerContext*, const v1beta1::RegisterRequest* req, v1beta1::Empty*) override {
        std::lock_guard<std::mutex> lock(m_);
        registered_[req->resource_name()] = *req;
        cv_.notify_all();
        return grpc::Status::OK;
    }
    /// Waits until every resource in `names` registered; what they sent.
    std::map<std::string, v1beta1::RegisterRequest> waitFor(const std::set<std::string>& names, int ms = 15000) {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] {
            for (const auto& n : names)
                if (!registered_.count(n)) return false;
            return true;
        });
        return registered_;
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    std::map<std::string, v1beta1::RegisterRequest> registered_;
    std::unique_ptr<grpc::Server> server_;
};

// kubelet's side of one resource: its ListAndWatch stream and calls.
class PluginClient {
public:
    PluginClient(const std::string& socket) : stub_(v1beta1::DevicePlugin::NewStub(grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials()))) {
        ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(90));  // a missing update fails, never hangs
        stream_ = stub_->ListAndWatch(&ctx_, v1beta1::Empty());
    }
    ~PluginClient() { ctx_.TryCancel(); }
    /// The next list, as "ADDRESS=Healthy" entries in order.
    std::vector<std::string> next() {
        v1beta1::ListAndWatchResponse r;
        if (!stream_->Read(&r)) return {"(stream ended)"};
        std::vector<std::string> out;
        for (const auto& d : r.devices()) {
            out.push_back(d.id() + "=" + d.health());
            numa_[d.id()] = d.topology().nodes_size() == 1 ? d.topology().nodes(0).id() : -1;
        }
        return out;
    }
    /// The NUMA node the last list gave the device (-1: none).
    int64_t numaOf(const std::string& id) { return numa_.count(id) ? numa_[id] : -2; }
    /// Reads lists until one equals `want` (the plugin may send intermediate ones).
    bool until(const std::vector<std::string>& want, std::vector<std::string>* last = nullptr) {
        for (int i = 0; i < 20; ++i) {
            auto l = next();
            if (last) *last = l;
            if (l == want) return true;
            if (!l.empty() && l[0] == "(stream ended)") return false;
        }
        return false;
    }
    grpc::Status allocate(const std::vector<std::string>& ids, v1beta1::AllocateResponse* out) {
        v1beta1::AllocateRequest req;
        auto* c = req.add_container_requests();
        for (const auto& id : ids) c->add_devices_ids(id);
        grpc::ClientContext ctx;
        return stub_->Allocate(&ctx, req, out);
    }
    grpc::Status preStart(const std::vector<std::string>& ids) {
        v1beta1::PreStartContainerRequest req;
        for (const auto& id : ids) req.add_devices_ids(id);
        v1beta1::PreStartContainerResponse out;
        grpc::ClientContext ctx;
        return stub_->PreStartContainer(&ctx, req, &out);
    }
    v1beta1::DevicePlugin::Stub& stub() { return *stub_; }

private:
    std::unique_ptr<v1beta1::DevicePlugin::Stub> stub_;
    grpc::ClientContext ctx_;
    std::unique_ptr<grpc::ClientReader<v1beta1::ListAndWatchResponse>> stream_;
    std::map<std::string, int64_t> numa_;
};

// kubelet's PodResources server: which pod's containers use which devices, as the test sets it.
class FakePodResources final : public v1::PodResourcesLister::Service {
public:
    explicit FakePodResources(const std::string& socket) {
        grpc::ServerBuilder builder;
        builder.AddListeningPort("unix://" + socket, grpc::InsecureServerCredentials());
        builder.RegisterService(this);
        server_ = builder.BuildAndStart();
    }
    ~FakePodResources() override { server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200)); }
    /// Pod name -> the devices of `resource` its one container uses.
    void set(std::map<std::string, std::vector<std::string>> pods, const std::string& resource) {
        std::lock_guard<std::mutex> lock(m_);
        pods_ = std::move(pods);
        resource_ = resource;
    }
    grpc::Status List(grpc::ServerContext*, const v1::ListPodResourcesRequest*, v1::ListPodResourcesResponse* out) override {
        std::lock_guard<std::mutex> lock(m_);
        ++lists_;
        for (const auto& [name, ids] : pods_) {
            auto* pod = out->add_pod_resources();
            pod->set_name(name);
            pod->set_namespace_("default");
            auto* devices = pod->add_containers()->add_devices();
            devices->set_resource_name(resource_);
            for (const auto& id : ids) devices->add_device_ids(id);
        }
        return grpc::Status::OK;
    }
    unsigned lists() {
        std::lock_guard<std::mutex> lock(m_);
        return lists_;
    }

private:
    std::mutex m_;
    std::map<std::string, std::vector<std::string>> pods_;
    std::string resource_;
    unsigned lists_ = 0;
    std::unique_ptr<grpc::Server> server_;
};

}  // namespace

// Issue 26 (11a): kubelet gives a VF it allocated before to the next pod (the device plugin API
// has no release call); the plugin resets and scrubs it before every container start, and
// releases it once kubelet's PodResources shows no pod uses it.
TEST(DevicePlugin, AVfChangesPodsOnlyResetAndScrubbed) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "2"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "provision", "0:0", "--profile", "quarter"}).exitCode, 0);
    ASSERT_EQ(stack.aismi({"vf", "unprovision", "0:1"}).exitCode, 0);
    const std::string a0 = stack.vfField("0:0", "pci.bus_id");
    const auto memory = [&] {
        std::string m = stack.sim({"vf-memory", "read", "0:0"}).out;
        while (!m.empty() && m.back() == '\n') m.pop_back();
        return m;
    };
    TempDir kubeletDir;
    FakeKubelet kubelet(kubeletDir.path());
    const std::string podSocket = kubeletDir / "pod-resources.sock";
    auto pods = std::make_unique<FakePodResources>(podSocket);
    Process plugin = Process::spawn({AISMI_DEVICE_PLUGIN_PATH, "--pod-resources-interval", "1", "--kubelet-dir", kubeletDir.path(),
                                     "--pod-resources-socket", podSocket},
                                    {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", stack.path("plugin.log")});
    auto registered = kubelet.waitFor({"aismi.io/quarter"});
    ASSERT_EQ(registered.size(), 1u) << fileText(stack.path("plugin.log"));
    EXPECT_TRUE(registered["aismi.io/quarter"].options().pre_start_required()) << "kubelet calls PreStartContainer before every start";
    PluginClient quarter(kubeletDir / "aismi-quarter.sock");
    {
        v1beta1::DevicePluginOptions options;
        grpc::ClientContext ctx;
        ASSERT_TRUE(quarter.stub().GetDevicePluginOptions(&ctx, v1beta1::Empty(), &options).ok());
        EXPECT_TRUE(options.pre_start_required());
    }
    const auto waitLists = [&](unsigned more) {
        const unsigned until = pods->lists() + more;
        for (int i = 0; i < 200 && pods->lists() < until; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return pods->lists() >= until;
    };

    // Pod 1 gets the VF, starts, and leaves its data in it.
    v1beta1::AllocateResponse allocated;
    ASSERT_TRUE(quarter.allocate({a0}, &allocated).ok());
    pods->set({{"pod-1", {a0}}}, "aismi.io/quarter");
    ASSERT_TRUE(quarter.preStart({a0}).ok());
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:0", "pod-1-secret"}).exitCode, 0);
    // Pod 1 ends; kubelet gives the same device to pod 2: Allocate again, then the start.
    pods->set({}, "aismi.io/quarter");
    auto again = quarter.allocate({a0}, &allocated);
    ASSERT_TRUE(again.ok()) << again.error_message();
    EXPECT_EQ(memory(), "pod-1-secret") << "Allocate alone does not scrub (the start does)";
    pods->set({{"pod-2", {a0}}}, "aismi.io/quarter");
    auto started = quarter.preStart({a0});
    ASSERT_TRUE(started.ok()) << started.error_message();
    EXPECT_EQ(memory(), "clean") << "pod 2 starts without pod 1's memory";
    EXPECT_EQ(stack.vfField("0:0", "driver,holder,used_by"), "vfio-pci, kubelet, holder:kubelet") << "scrubbed where it is: still kubelet's";
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:0", "pod-2-secret"}).exitCode, 0);
    ASSERT_TRUE(waitLists(3));
    EXPECT_EQ(stack.vfField("0:0", "holder"), "kubelet") << "pod 2 uses it: not released";
    EXPECT_EQ(memory(), "pod-2-secret");

    // Only this resource's devices are scrubbed for kubelet.
    EXPECT_EQ(quarter.preStart({"0000:99:00.0"}).error_code(), grpc::StatusCode::NOT_FOUND);
    // A start whose scrub fails does not happen.
    ASSERT_EQ(stack.sim({"inject", "0:0", "flr-fail"}).exitCode, 0);
    auto refused = quarter.preStart({a0});
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << refused.error_message();
    ASSERT_EQ(stack.sim({"clear", "0:0"}).exitCode, 0);
    ASSERT_TRUE(quarter.preStart({a0}).ok());

    // kubelet's PodResources goes away: nothing is released meanwhile.
    pods.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    EXPECT_EQ(stack.vfField("0:0", "holder"), "kubelet");
    EXPECT_NE(fileText(stack.path("plugin.log")).find("stay held until it answers"), std::string::npos) << fileText(stack.path("plugin.log"));
    // Back, and pod 2 is gone: released (reset, scrubbed, host driver), offered again.
    pods = std::make_unique<FakePodResources>(podSocket);
    ASSERT_EQ(stack.sim({"vf-memory", "write", "0:0", "pod-2-secret"}).exitCode, 0);
    std::string holder = "kubelet";
    for (int i = 0; i < 100 && holder != "[N/A]"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        holder = stack.vfField("0:0", "holder");
    }
    EXPECT_EQ(holder, "[N/A]") << "nobody holds it: " << fileText(stack.path("plugin.log"));
    EXPECT_EQ(stack.vfField("0:0", "driver"), "aismi");
    EXPECT_EQ(memory(), "clean");
    EXPECT_NE(fileText(stack.path("plugin.log")).find(a0 + ": no pod uses it any more; released"), std::string::npos) << fileText(stack.path("plugin.log"));
    plugin.stop();
}

TEST(DevicePlugin, AdvertisesProvisionedFreeVfsPerProfileFollowsAismidAndAllocates) {
    Stack stack;
    stack.startDaemon();
    ASSERT_EQ(stack.aismi({"vf", "enable", "-i", "0", "--count", "4"}).exitCode, 0);
    for (auto [vf, profile] : {std::pair{"0:0", "quarter"}, {"0:1", "quarter"}, {"0:2", "eighth"}})
        ASSERT_EQ(stack.aismi({"vf", "provision", vf, "--profile", profile}).exitCode, 0) << vf;
    const std::string a0 = stack.vfField("0:0", "pci.bus_id"), a1 = stack.vfField("0:1", "pci.bus_id"), a2 = stack.vfField("0:2", "pci.bus_id");
    TempDir kubeletDir;
    auto kubelet = std::make_unique<FakeKubelet>(kubeletDir.path());
    Process plugin = Process::spawn({AISMI_DEVICE_PLUGIN_PATH, "--kubelet-dir", kubeletDir.path(), "--pod-resources-socket", "none"},
                                    {{{"DBUS_SYSTEM_BUS_ADDRESS", stack.busAddress()}}, std::nullopt, "", stack.path("plugin.log")});
    auto registered = kubelet->waitFor({"aismi.io/quarter", "aismi.io/eighth"});
    ASSERT_EQ(registered.size(), 2u) << fileText(stack.path("plugin.log"));
    EXPECT_EQ(registered["aismi.io/quarter"].version(), "v1beta1");
    EXPECT_EQ(registered["aismi.io/quarter"].endpoint(), "aismi-quarter.sock");
    EXPECT_TRUE(registered["aismi.io/quarter"].options().get_preferred_allocation_available());

    PluginClient quarter(kubeletDir / "aismi-quarter.sock");
    EXPECT_EQ(quarter.next(), (std::vector<std::string>{a0 + "=Healthy", a1 + "=Healthy"})) << "exactly the free provisioned VFs of the profile";
    EXPECT_EQ(quarter.numaOf(a0), 0) << "card 0's NUMA node as the topology";
    {
        PluginClient eighth(kubeletDir / "aismi-eighth.sock");
        EXPECT_EQ(eighth.next(), (std::vector<std::string>{a2 + "=Healthy"}));
    }

    // Health follows aismid: a quarantine, then the card lost and back.
    ASSERT_EQ(stack.aismi({"vf", "quarantine", "0:0", "--reason", "test"}).exitCode, 0);
    EXPECT_TRUE(quarter.until({a0 + "=Unhealthy", a1 + "=Healthy"}));
    ASSERT_EQ(stack.aismi({"vf", "unquarantine", "0:0"}).exitCode, 0);
    EXPECT_TRUE(quarter.until({a0 + "=Healthy", a1 + "=Healthy"}));
    ASSERT_EQ(stack.sim({"inject", "0", "device-lost"}).exitCode, 0);
    std::vector<std::string> last;
    EXPECT_TRUE(quarter.until({a0 + "=Unhealthy", a1 + "=Unhealthy"}, &last)) << ::testing::PrintToString(last);
    ASSERT_EQ(stack.sim({"clear", "0"}).exitCode, 0);
    EXPECT_TRUE(quarter.until({a0 + "=Healthy", a1 + "=Healthy"}, &last)) << ::testing::PrintToString(last);

    // GetPreferredAllocation: one card's VFs together.
    {
        v1beta1::PreferredAllocationRequest req;
        auto* c = req.add_container_requests();
        c->add_available_deviceids(a1);
        c->add_available_deviceids(a0);
        c->set_allocation_size(1);
        v1beta1::PreferredAllocationResponse resp;
        grpc::ClientContext ctx;
        ASSERT_TRUE(quarter.stub().GetPreferredAllocation(&ctx, req, &resp).ok());
        ASSERT_EQ(resp.container_responses_size(), 1);
        EXPECT_EQ(resp.container_responses(0).deviceids_size(), 1);
    }

    // Allocate: bound to vfio-pci through aismid; /dev/vfio and KubeVirt's variable.
    v1beta1::AllocateResponse allocated;
    auto status = quarter.allocate({a1}, &allocated);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(allocated.container_responses_size(), 1);
    const auto& c = allocated.container_responses(0);
    EXPECT_EQ(c.envs().at("PCI_RESOURCE_AISMI_IO_QUARTER"), a1);
    const std::string group = stack.vfField("0:1", "iommu_group");
    std::set<std::string> paths;
    for (const auto& d : c.devices()) paths.insert(d.host_path());
    EXPECT_EQ(paths, (std::set<std::string>{"/dev/vfio/vfio", "/dev/vfio/" + group}));
    EXPECT_EQ(stack.vfField("0:1", "driver,holder"), "vfio-pci, kubelet") << "aismid records kubelet's allocation";
    auto list = stack.aismi({"vf", "list", "-i", "0"});
    EXPECT_NE(list.out.find("(held by kubelet)"), std::string::npos) << list.out;
    auto taken = stack.aismi({"vf", "bind", "0:1", "--driver", "host"});
    EXPECT_NE(taken.exitCode, 0);
    EXPECT_NE(taken.err.find("held by kubelet"), std::string::npos) << taken.err;
    // Released back to aismi: reset, scrubbed, on its host driver again, still offered.
    ASSERT_EQ(stack.aismi({"vf", "release", "0:1"}).exitCode, 0);
    EXPECT_EQ(stack.vfField("0:1", "driver,holder"), "aismi, [N/A]");

    // Refusals change nothing.
    v1beta1::AllocateResponse none;
    EXPECT_EQ(quarter.allocate({"0000:99:00.0"}, &none).error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(quarter.allocate({a2}, &none).error_code(), grpc::StatusCode::NOT_FOUND) << "another profile's VF";
    // A VF another consumer holds is no longer offered, and cannot be allocated.
    ASSERT_EQ(run({BUSCTL_PATH, "--address=" + stack.busAddress(), "call", "org.aismi.Manager1", "/org/aismi/Manager1/card0/vf1",
                   "org.aismi.VirtualFunction1", "Hold", "s", "other"}).exitCode, 0);
    EXPECT_TRUE(quarter.until({a0 + "=Healthy"}, &last)) << ::testing::PrintToString(last);
    EXPECT_EQ(quarter.allocate({a1}, &none).error_code(), grpc::StatusCode::NOT_FOUND) << "taken";
    ASSERT_EQ(stack.aismi({"vf", "release", "0:1"}).exitCode, 0);
    EXPECT_TRUE(quarter.until({a0 + "=Healthy", a1 + "=Healthy"}, &last)) << "released, it is offered again";
    ASSERT_EQ(stack.aismi({"vf", "quarantine", "0:0"}).exitCode, 0);
    EXPECT_TRUE(quarter.until({a0 + "=Unhealthy", a1 + "=Healthy"})) << "0:1 still offered: kubelet counts what it allocated, and it was released";
    EXPECT_EQ(quarter.allocate({a0}, &none).error_code(), grpc::StatusCode::FAILED_PRECONDITION) << "unhealthy";
    EXPECT_EQ(stack.vfField("0:0", "driver"), "aismi");

    // kubelet restarts: its sockets are gone and a new Registration server listens.
    kubelet.reset();
    for (const auto& e : std::filesystem::directory_iterator(kubeletDir.path())) std::filesystem::remove(e.path());
    kubelet = std::make_unique<FakeKubelet>(kubeletDir.path());
    EXPECT_EQ(kubelet->waitFor({"aismi.io/quarter", "aismi.io/eighth"}).size(), 2u) << "registered again: " << fileText(stack.path("plugin.log"));

    // aismid restarts: the plugin follows it again.
    stack.stopDaemon();
    stack.startDaemon();
    PluginClient again(kubeletDir / "aismi-quarter.sock");
    (void)again.next();
    ASSERT_EQ(stack.aismi({"vf", "unquarantine", "0:0"}).exitCode, 0);
    EXPECT_TRUE(again.until({a0 + "=Healthy", a1 + "=Healthy"}, &last)) << ::testing::PrintToString(last) << fileText(stack.path("plugin.log"));
    EXPECT_NE(fileText(stack.path("plugin.log")).find("trying again in"), std::string::npos) << "it said it lost aismid";
    plugin.stop();
}
