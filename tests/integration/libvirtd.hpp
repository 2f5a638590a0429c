// A real libvirtd for the tests: unprivileged (uid 65534), in session mode, in a directory of
// its own, serving the test driver (test:///default, shared by every connection while one is
// open; a `virsh event --loop` holds one for the helper's life, as aismid does while it runs).
// virsh and aismid see the same domains.
#pragma once

#include "process.hpp"
#include "temp_dir.hpp"

#include <string>
#include <vector>

namespace aismi::test {

class Libvirtd {
public:
    /// Starts it (a fatal test failure when it does not come up).
    Libvirtd();
    void start();
    /// SIGKILLs it and the connection holder (what a crash of libvirtd does to aismid).
    void kill();

    std::string socket() const { return dir_ + "/run/libvirt/libvirt-sock"; }
    std::string uri() const { return "test+unix:///default?socket=" + socket(); }
    RunResult virsh(std::vector<std::string> args);
    /// Defines a stopped domain with these PCI hostdevs ("0000:3b:00.5") and a tenant in aismi's
    /// metadata.
    void define(const std::string& name, const std::vector<std::string>& hostdevs = {}, const std::string& tenant = "");
    static std::string hostdev(const std::string& address);
    std::string dumpxml(const std::string& name);
    /// Whether domain `name` has the PCI function at `address` (as libvirt writes it back).
    bool has(const std::string& name, const std::string& address);
    std::string log();

private:
    TempDir tmp_;
    std::string dir_;
    Process daemon_;
    Process holder_;
};

}  // namespace aismi::test
