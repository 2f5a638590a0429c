#include "libvirtd.hpp"

#include "stack.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace aismi::test {
namespace {

constexpr uid_t kNobody = 65534;

}  // namespace

Libvirtd::Libvirtd() : dir_(tmp_.path()) {
    for (const char* sub : {"run", "config", "cache", "home"}) std::filesystem::create_directories(dir_ + "/" + sub);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) (void)::chown(entry.path().c_str(), kNobody, kNobody);
    (void)::chown(dir_.c_str(), kNobody, kNobody);
    start();
}

void Libvirtd::start() {
    SpawnOptions o;
    o.uid = kNobody;
    o.env = {{"HOME", dir_ + "/home"}, {"XDG_RUNTIME_DIR", dir_ + "/run"}, {"XDG_CONFIG_HOME", dir_ + "/config"},
             {"XDG_CACHE_HOME", dir_ + "/cache"}, {"DBUS_SESSION_BUS_ADDRESS", "disabled:"}};
    o.stderrFile = dir_ + "/libvirtd.log";
    daemon_ = Process::spawn({LIBVIRTD_PATH, "--timeout", "0"}, o);
    for (int i = 0; i < 200 && !std::filesystem::exists(socket()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(std::filesystem::exists(socket())) << fileText(dir_ + "/libvirtd.log");
    // The test driver's state lives while a connection is open: hold one.
    holder_ = Process::spawn({VIRSH_PATH, "-c", uri(), "event", "--all", "--loop"}, {{}, std::nullopt, dir_ + "/events.log", ""});
    for (int i = 0; i < 100 && virsh({"list", "--all"}).exitCode != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void Libvirtd::kill() {
    holder_.stop(9);
    daemon_.stop(9);
    std::filesystem::remove(socket());
}

RunResult Libvirtd::virsh(std::vector<std::string> args) {
    args.insert(args.begin(), {VIRSH_PATH, "-q", "-c", uri()});
    return run(args, {}, 30000);
}

void Libvirtd::define(const std::string& name, const std::vector<std::string>& hostdevs, const std::string& tenant) {
    std::string xml = "<domain type='test'><name>" + name + "</name><memory>1048576</memory><os><type>hvm</type></os>";
    if (!tenant.empty())
        xml += "<metadata><aismi:vm xmlns:aismi='https://aismi.org/xmlns/libvirt/1'><aismi:tenant>" + tenant + "</aismi:tenant></aismi:vm></metadata>";
    xml += "<devices>";
    for (const auto& a : hostdevs) xml += hostdev(a);
    xml += "</devices></domain>";
    const std::string file = tmp_ / (name + ".xml");
    std::ofstream(file) << xml;
    auto r = virsh({"define", file});
    ASSERT_EQ(r.exitCode, 0) << r.err;
}

std::string Libvirtd::hostdev(const std::string& a) {
    return "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x" + a.substr(0, 4) + "' bus='0x" + a.substr(5, 2) +
           "' slot='0x" + a.substr(8, 2) + "' function='0x" + a.substr(11, 1) + "'/></source></hostdev>";
}

std::string Libvirtd::dumpxml(const std::string& name) { return virsh({"dumpxml", name}).out; }

bool Libvirtd::has(const std::string& name, const std::string& address) {
    const std::string xml = dumpxml(name);
    return xml.find("bus='0x" + address.substr(5, 2) + "' slot='0x" + address.substr(8, 2) + "' function='0x" + address.substr(11, 1) + "'") !=
           std::string::npos;
}

std::string Libvirtd::log() { return fileText(dir_ + "/libvirtd.log"); }

}  // namespace aismi::test
