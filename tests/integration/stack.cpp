#include "stack.hpp"

#include <algorithm>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace aismi::test {
namespace {

constexpr const char* kBusConfig = R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=@SOCKET@</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
)";

}  // namespace

Stack::Stack(Options options) : options_(std::move(options)) {
    ::chmod(dir_.path().c_str(), 0755);  // an unprivileged client must reach the bus socket
    const std::string socket = dir_ / "bus.sock";
    std::string config = kBusConfig;
    config.replace(config.find("@SOCKET@"), 8, socket);
    std::ofstream(dir_ / "bus.conf") << config;
    bus_ = Process::spawn({DBUS_DAEMON_PATH, "--config-file=" + (dir_ / "bus.conf"), "--nofork", "--nopidfile"},
                          {{}, std::nullopt, "", dir_ / "bus.log"});
    address_ = "unix:path=" + socket;
    for (int i = 0; i < 1000 && ::access(socket.c_str(), F_OK) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));

    if (options_.withPolkit) startPolkit();

    notifyFd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string notifyPath = dir_ / "notify.sock";
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", notifyPath.c_str());
    ::bind(notifyFd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
}

void Stack::startPolkit() {
    if (std::string(POLKITD_PATH).empty() || ::geteuid() != 0) return;
    // polkitd reads actions only from its system directory: install ours under a name of
    // this test's own, and remove it when the test ends.
    const std::string file = "/usr/share/polkit-1/actions/aismi-test-" + std::to_string(::getpid()) + ".policy";
    {
        std::ifstream in(AISMI_POLKIT_POLICY);
        std::ofstream out(file);
        out << in.rdbuf();
        if (!out) return;
    }
    policyFile_ = file;
    polkit_ = Process::spawn({POLKITD_PATH, "--no-debug"}, {{{"DBUS_SYSTEM_BUS_ADDRESS", address_}}, std::nullopt, "", dir_ / "polkit.log"});
    for (int i = 0; i < 200; ++i) {
        auto r = run({BUSCTL_PATH, "--address=" + address_, "status", "org.freedesktop.PolicyKit1"});
        if (r.exitCode == 0) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

Stack::~Stack() {
    daemon_.stop(SIGTERM, 5000);
    polkit_.stop(SIGTERM, 5000);
    if (!policyFile_.empty()) ::unlink(policyFile_.c_str());
    bus_.stop(SIGTERM, 5000);
    if (notifyFd_ >= 0) ::close(notifyFd_);
    if (!publicBinDir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(publicBinDir_, ec);
    }
}

std::string Stack::aismiFor(std::optional<uid_t> uid) { return runnableBy(AISMI_PATH, uid); }

std::string Stack::runnableBy(const std::string& program, std::optional<uid_t> uid) {
    if (!uid) return program;
    if (publicBinDir_.empty()) {
        char dir[] = "/tmp/aismi-bin-XXXXXX";
        if (!::mkdtemp(dir)) return program;
        publicBinDir_ = dir;
        ::chmod(dir, 0755);
    }
    const std::string copy = publicBinDir_ + "/" + std::filesystem::path(program).filename().string();
    if (!std::filesystem::exists(copy)) {
        std::ifstream in(program, std::ios::binary);
        std::ofstream out(copy, std::ios::binary);
        out << in.rdbuf();
        out.close();
        ::chmod(copy.c_str(), 0755);
    }
    return copy;
}

RunResult Stack::client(const std::string& program, const std::vector<std::string>& args, std::optional<uid_t> uid, int timeoutMs) {
    std::vector<std::string> argv{runnableBy(program, uid)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {{{"DBUS_SYSTEM_BUS_ADDRESS", address_}}, uid, "", ""}, timeoutMs);
}

bool longTestsBrief() {
    const char* length = std::getenv("AISMI_LONG_TESTS");
    return length && std::string_view(length) == "brief";
}

int testSize(const char* name, int full, int brief, int min) {
    const char* env = std::getenv(name);
    return std::max(min, env ? std::atoi(env) : longTestsBrief() ? brief : full);
}

long rssKib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

long openFds(pid_t pid) {
    long n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec); !ec && it != std::filesystem::directory_iterator(); ++it) ++n;
    return n;
}

std::string fileText(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool waitForText(const std::string& path, const std::string& text, int timeoutMs) {
    for (int waited = 0; waited <= timeoutMs; waited += 50) {
        if (fileText(path).find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

void Stack::startDaemon() {
    spawnDaemon();
    ASSERT_TRUE(waitForNotification("READY=1")) << "aismid did not get ready:\n" << daemonLog();
}

void Stack::spawnDaemon() {
    std::vector<std::string> argv{AISMID_PATH,
                                  "--backend=sim",
                                  "--state-dir=" + stateDir(),
                                  "--sim-cards=" + std::to_string(options_.cards),
                                  "--sim-vfs=" + std::to_string(options_.vfs),
                                  "--sim-time-factor=0.01",
                                  "--profiles-dir=" + profilesDir(),
                                  "--layouts-dir=" + layoutsDir(),
                                  "--config=" + options_.configFile};
    if (options_.configFile == "/dev/null") argv.push_back("--poll-interval=" + std::to_string(options_.pollMs));
    // Tests run side by side: each daemon's metrics endpoint on a free port of its own.
    if (std::none_of(options_.extraArgs.begin(), options_.extraArgs.end(), [](const std::string& a) { return a.rfind("--metrics-address", 0) == 0; }))
        argv.push_back("--metrics-address=127.0.0.1:0");
    // No libvirt unless a test brings its own libvirtd (tests never touch the host's).
    if (std::none_of(options_.extraArgs.begin(), options_.extraArgs.end(), [](const std::string& a) { return a.rfind("--libvirt-uri", 0) == 0; }))
        argv.push_back("--libvirt-uri=none");
    argv.insert(argv.end(), options_.extraArgs.begin(), options_.extraArgs.end());
    received_.clear();
    auto env = options_.env;
    env["DBUS_SYSTEM_BUS_ADDRESS"] = address_;
    env["NOTIFY_SOCKET"] = dir_ / "notify.sock";
    daemon_ = Process::spawn(argv, {env,
                                    std::nullopt,
                                    "",
                                    dir_ / "aismid.log"});
}

int Stack::stopDaemon(int sig) { return daemon_.stop(sig); }

int Stack::waitForDaemonExit(int timeoutMs) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (daemon_.running() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return daemon_.stop(SIGKILL);
}

RunResult Stack::aismi(const std::vector<std::string>& args, std::optional<uid_t> uid) {
    std::vector<std::string> argv{aismiFor(uid)};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, {{{"DBUS_SYSTEM_BUS_ADDRESS", address_}}, uid, "", ""});
}

Process Stack::spawnAismi(const std::vector<std::string>& args, std::optional<uid_t> uid, const std::string& name) {
    std::vector<std::string> argv{aismiFor(uid)};
    argv.insert(argv.end(), args.begin(), args.end());
    return Process::spawn(argv, {{{"DBUS_SYSTEM_BUS_ADDRESS", address_}}, uid, dir_ / (name + ".out"), dir_ / (name + ".err")});
}

std::string Stack::metricsAddress() {
    auto r = run({BUSCTL_PATH, "--address=" + address_, "get-property", "org.aismi.Manager1", "/org/aismi/Manager1", "org.aismi.Manager1", "MetricsAddress"});
    // s "127.0.0.1:43120"
    const size_t open = r.out.find('"'), close = r.out.rfind('"');
    return open == std::string::npos || close <= open ? std::string() : r.out.substr(open + 1, close - open - 1);
}

RunResult Stack::sim(const std::vector<std::string>& args) {
    std::vector<std::string> argv{AISMI_SIM_PATH, "--dir", simDir()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

bool Stack::waitForCardField(const std::string& field, const std::string& value, unsigned card) {
    for (int i = 0; i < 200; ++i) {
        auto r = aismi({"-i", std::to_string(card), "--query-card=" + field, "--format=csv,noheader,nounits"});
        if (r.exitCode == 0 && r.out == value + "\n") return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

std::string Stack::vfField(const std::string& vf, const std::string& fields) {
    auto r = aismi({"--query-vf=" + fields, "--format=csv,noheader,nounits", "-i", vf});
    return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
}

bool Stack::waitForVf(const std::string& vf, const std::string& fields, const std::string& value) {
    for (int i = 0; i < 200; ++i) {
        if (vfField(vf, fields) == value) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
}

std::vector<std::string> Stack::notifications() {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(notifyFd_, buf, sizeof buf, 0)) > 0) received_.emplace_back(buf, static_cast<size_t>(n));
    return received_;
}

bool Stack::waitForNotification(const std::string& text, int timeoutMs) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    do {
        for (const auto& m : notifications())
            if (m.find(text) != std::string::npos) return true;
        pollfd p{notifyFd_, POLLIN, 0};
        ::poll(&p, 1, 50);
    } while (std::chrono::steady_clock::now() < deadline && (daemon_.running() || text == "STOPPING=1"));
    for (const auto& m : notifications())
        if (m.find(text) != std::string::npos) return true;
    return false;
}

std::string Stack::daemonLog() const {
    std::ifstream in(dir_ / "aismid.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace aismi::test
