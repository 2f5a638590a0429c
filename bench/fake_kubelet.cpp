// A stand-in for kubelet's device manager, for trying aismi-device-plugin without a cluster:
// serves kubelet's Registration on DIR/kubelet.sock, and for each plugin that registers,
// follows its ListAndWatch stream and prints every list it sends (one line per update), and
// allocates the first healthy device of the first resource that offers one, as kubelet does
// when a pod asks for it (printing what the plugin answers). Runs for SECONDS. Used by scripts/device-plugin-demo.
// Usage: aismi-fake-kubelet DIR SECONDS
#include "kubelet_device_plugin.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::mutex printing;
bool allocated = false;  // one allocation per run, of the first resource with a healthy device

void allocateOne(v1beta1::DevicePlugin::Stub& stub, const std::string& resource, const std::string& device) {
    v1beta1::AllocateRequest req;
    req.add_container_requests()->add_devices_ids(device);
    v1beta1::AllocateResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const grpc::Status status = stub.Allocate(&ctx, req, &resp);
    std::string line = "kubelet: allocated " + device + " (" + resource + ") to a pod: ";
    if (!status.ok()) line += "refused: " + status.error_message();
    else
        for (const auto& c : resp.container_responses()) {
            for (const auto& d : c.devices()) line += "device " + d.host_path() + " -> " + d.container_path() + "; ";
            for (const auto& [k, v] : c.envs()) line += k + "=" + v + " ";
        }
    std::lock_guard<std::mutex> lock(printing);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

void follow(const std::string dir, const v1beta1::RegisterRequest req, std::chrono::steady_clock::time_point until) {
    auto stub = v1beta1::DevicePlugin::NewStub(grpc::CreateChannel("unix://" + dir + "/" + req.endpoint(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(until - std::chrono::steady_clock::now()));
    auto stream = stub->ListAndWatch(&ctx, v1beta1::Empty());
    v1beta1::ListAndWatchResponse r;
    while (stream->Read(&r)) {
        std::string line = req.resource_name() + ": " + std::to_string(r.devices_size()) + " device(s)";
        for (const auto& d : r.devices())
            line += "  " + d.id() + " " + d.health() + (d.topology().nodes_size() ? " numa " + std::to_string(d.topology().nodes(0).id()) : "");
        std::string healthy;
        for (const auto& d : r.devices())
            if (healthy.empty() && d.health() == "Healthy") healthy = d.id();
        bool allocate = false;
        {
            std::lock_guard<std::mutex> lock(printing);
            std::printf("kubelet: %s\n", line.c_str());
            std::fflush(stdout);
            allocate = !allocated && !healthy.empty();
            allocated = allocated || allocate;
        }
        if (allocate) allocateOne(*stub, req.resource_name(), healthy);
    }
}

class Registration final : public v1beta1::Registration::Service {
public:
    Registration(std::string dir, std::chrono::steady_clock::time_point until) : dir_(std::move(dir)), until_(until) {}
    ~Registration() override {
        for (auto& t : followers_) t.join();
    }
    grpc::Status Register(grpc::ServerContext*, const v1beta1::RegisterRequest* req, v1beta1::Empty*) override {
        {
            std::lock_guard<std::mutex> lock(printing);
            std::printf("kubelet: registered %s (API %s) at %s\n", req->resource_name().c_str(), req->version().c_str(), req->endpoint().c_str());
            std::fflush(stdout);
        }
        std::lock_guard<std::mutex> lock(m_);
        followers_.emplace_back(follow, dir_, *req, until_);
        return grpc::Status::OK;
    }

private:
    std::string dir_;
    std::chrono::steady_clock::time_point until_;
    std::mutex m_;
    std::vector<std::thread> followers_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: aismi-fake-kubelet DIR SECONDS\n");
        return 2;
    }
    const std::string dir = argv[1];
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[2]));
    Registration registration(dir, until);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + dir + "/kubelet.sock", grpc::InsecureServerCredentials());
    builder.RegisterService(&registration);
    auto server = builder.BuildAndStart();
    if (!server) {
        std::fprintf(stderr, "aismi-fake-kubelet: cannot listen on %s/kubelet.sock\n", dir.c_str());
        return 1;
    }
    std::this_thread::sleep_until(until);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
    return 0;
}
