// aismi-bench-assign VF_PATH DOMAIN CYCLES LIBVIRT_URI ADDRESS: bench/libvirt-assign.
//  A. CYCLES times Assign(DOMAIN) then Release() of one VF through aismid (D-Bus), timed from
//     one long-running client: "A assign_us release_us" per cycle.
//  B. The same libvirt calls aismid makes for them (assign: look the domain up, add the hostdev
//     to its definition; release: look it up, take it out), straight against libvirt through
//     the same Hypervisor code, for ADDRESS: "B assign_us release_us". A - B is aismid's share.
#include "hypervisor.hpp"

#include <sdbus-c++/sdbus-c++.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;
long us(Clock::time_point a, Clock::time_point b) { return static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(b - a).count()); }

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::cerr << "usage: aismi-bench-assign VF_PATH DOMAIN CYCLES LIBVIRT_URI ADDRESS\n";
        return 2;
    }
    const std::string vfPath = argv[1], domain = argv[2], uri = argv[4];
    const int cycles = std::atoi(argv[3]);
    try {
        auto bus = sdbus::createSystemBusConnection();
        auto vf = sdbus::createProxy(*bus, "org.aismi.Manager1", vfPath);
        for (int i = 0; i < cycles; ++i) {
            const auto t0 = Clock::now();
            vf->callMethod("Assign").onInterface("org.aismi.VirtualFunction1").withArguments(domain, std::string());
            const auto t1 = Clock::now();
            vf->callMethod("Release").onInterface("org.aismi.VirtualFunction1");
            const auto t2 = Clock::now();
            std::printf("A %ld %ld\n", us(t0, t1), us(t1, t2));
        }
    } catch (const sdbus::Error& e) {
        std::cerr << "aismi-bench-assign: " << e.getName() << ": " << e.getMessage() << "\n";
        return 1;
    }
    auto address = aismi::PciAddress::parse(argv[5]);
    if (!address) return 2;
    auto h = aismi::makeLibvirtHypervisor(uri, [](aismi::HypervisorEvent) {});
    if (auto r = h->connect(); !r) {
        std::cerr << "aismi-bench-assign: " << r.error().message << "\n";
        return 1;
    }
    for (int i = 0; i < cycles; ++i) {
        const auto t0 = Clock::now();
        auto d = h->domain(domain);
        auto a = h->attach(domain, *address, aismi::Scope::Config);
        const auto t1 = Clock::now();
        auto d2 = h->domain(domain);
        auto r = h->detach(domain, *address, aismi::Scope::Config);
        const auto t2 = Clock::now();
        if (!d || !a || !d2 || !r) {
            std::cerr << "aismi-bench-assign: libvirt call failed\n";
            return 1;
        }
        std::printf("B %ld %ld\n", us(t0, t1), us(t1, t2));
    }
    return 0;
}
