// From a VF's health change in aismid to kubelet seeing it: quarantines and releases one VF
// through aismid (VirtualFunction1.Quarantine / Unquarantine, one D-Bus client) and times each
// until the plugin's ListAndWatch stream delivers the list with the VF's new health. The time
// starts before the D-Bus call, so it includes the call itself. bench/device-plugin.
// Usage: aismi-bench-plugin PLUGIN_SOCKET VF_OBJECT_PATH VF_ADDRESS COUNT
#include "kubelet_device_plugin.grpc.pb.h"

#include <grpcpp/grpcpp.h>
#include <sdbus-c++/sdbus-c++.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: aismi-bench-plugin PLUGIN_SOCKET VF_OBJECT_PATH VF_ADDRESS COUNT\n");
        return 2;
    }
    const std::string socket = argv[1], vfPath = argv[2], address = argv[3];
    const int count = std::max(1, std::atoi(argv[4]));
    try {
        auto stub = v1beta1::DevicePlugin::NewStub(grpc::CreateChannel("unix://" + socket, grpc::InsecureChannelCredentials()));
        grpc::ClientContext ctx;
        auto stream = stub->ListAndWatch(&ctx, v1beta1::Empty());
        const auto healthOf = [&](const v1beta1::ListAndWatchResponse& r) -> std::string {
            for (const auto& d : r.devices())
                if (d.id() == address) return d.health();
            return "";
        };
        v1beta1::ListAndWatchResponse r;
        if (!stream->Read(&r) || healthOf(r) != "Healthy") {
            std::fprintf(stderr, "aismi-bench-plugin: %s is not listed healthy\n", address.c_str());
            return 1;
        }
        auto bus = sdbus::createSystemBusConnection();
        auto vf = sdbus::createProxy(*bus, "org.aismi.Manager1", vfPath);
        std::vector<double> ms;
        for (int i = 0; i < count; ++i) {
            const bool quarantine = i % 2 == 0;
            const std::string want = quarantine ? "Unhealthy" : "Healthy";
            const auto t0 = std::chrono::steady_clock::now();
            if (quarantine) vf->callMethod("Quarantine").onInterface("org.aismi.VirtualFunction1").withArguments(std::string("bench"));
            else vf->callMethod("Unquarantine").onInterface("org.aismi.VirtualFunction1");
            for (;;) {
                if (!stream->Read(&r)) {
                    std::fprintf(stderr, "aismi-bench-plugin: the stream ended\n");
                    return 1;
                }
                if (healthOf(r) == want) break;
            }
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        const auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p / 100 * static_cast<double>(ms.size())))]; };
        std::printf("%-40s %8d\n", "health changes", count);
        std::printf("%-40s %8.1f ms\n", "median", pct(50));
        std::printf("%-40s %8.1f ms (target < 100)\n", "99th percentile", pct(99));
        std::printf("%-40s %8.1f ms\n", "max", ms.back());
        ctx.TryCancel();
    } catch (const sdbus::Error& e) {
        std::fprintf(stderr, "aismi-bench-plugin: %s\n", e.getMessage().c_str());
        return 1;
    }
    return 0;
}
