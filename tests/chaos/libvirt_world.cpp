#include "libvirt_world.hpp"

#include "libvirtd.hpp"
#include "temp_dir.hpp"

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace aismi::chaos {

namespace {

// The value of attribute `name` in the tag that starts at `tag` ("" when it has none).
std::string attribute(const std::string& xml, size_t tag, const std::string& name) {
    const size_t end = xml.find('>', tag);
    for (const char quote : {'\'', '"'}) {
        const size_t at = xml.find(" " + name + "=" + quote, tag);
        if (at == std::string::npos || at > end) continue;
        const size_t from = at + name.size() + 3;
        const size_t to = xml.find(quote, from);
        if (to != std::string::npos && to <= end) return xml.substr(from, to - from);
    }
    return "";
}

// "0x3b" -> "3b", padded to `width` hex digits.
std::string hex(const std::string& value, size_t width) {
    std::string digits = value.rfind("0x", 0) == 0 ? value.substr(2) : value;
    while (digits.size() < width) digits.insert(digits.begin(), '0');
    return digits;
}

// The hostdev element of `address` ("0000:3b:00.5"), as aismid writes it.
std::string hostdevOf(const std::string& address) { return test::Libvirtd::hostdev(address); }

// `xml` without its first hostdev whose source is `address`.
std::string withoutHostdev(std::string xml, const std::string& address) {
    for (size_t at = xml.find("<hostdev"); at != std::string::npos; at = xml.find("<hostdev", at + 1)) {
        const size_t end = xml.find("</hostdev>", at);
        if (end == std::string::npos) break;
        const auto found = hostdevAddresses(xml.substr(at, end + 10 - at));
        if (!found.empty() && found[0] == address) return xml.erase(at, end + 10 - at);
    }
    return xml;
}

}  // namespace

std::vector<std::string> hostdevAddresses(const std::string& xml) {
    std::vector<std::string> out;
    for (size_t at = xml.find("<hostdev"); at != std::string::npos; at = xml.find("<hostdev", at + 1)) {
        const size_t end = xml.find("</hostdev>", at);
        const size_t source = xml.find("<source", at);
        if (end == std::string::npos || source == std::string::npos || source > end) continue;
        const size_t address = xml.find("<address", source);
        if (address == std::string::npos || address > end) continue;
        out.push_back(hex(attribute(xml, address, "domain"), 4) + ":" + hex(attribute(xml, address, "bus"), 2) + ":" + hex(attribute(xml, address, "slot"), 2) +
                      "." + hex(attribute(xml, address, "function"), 1));
    }
    return out;
}

const std::vector<std::string>& LibvirtWorld::domains() {
    static const std::vector<std::string> names{"vm0", "vm1", "vm2"};
    return names;
}

LibvirtWorld::LibvirtWorld() : libvirtd_(std::make_unique<test::Libvirtd>()) {
    for (const auto& d : domains()) defineEmpty(d);
}

LibvirtWorld::~LibvirtWorld() = default;

std::string LibvirtWorld::uri() const { return libvirtd_->uri(); }

void LibvirtWorld::defineEmpty(const std::string& name) { libvirtd_->define(name); }

bool LibvirtWorld::up() { return libvirtd_->virsh({"list", "--all"}).exitCode == 0; }

std::map<std::string, std::vector<std::string>> LibvirtWorld::hostdevs() {
    std::map<std::string, std::vector<std::string>> out;
    auto listed = libvirtd_->virsh({"list", "--all", "--name"});
    if (listed.exitCode != 0) return out;
    std::istringstream names(listed.out);
    for (std::string name; std::getline(names, name);) {
        if (name.empty()) continue;
        auto xml = libvirtd_->virsh({"dumpxml", name});
        if (xml.exitCode == 0) out[name] = hostdevAddresses(xml.out);
    }
    return out;
}

LibvirtWorld::Change LibvirtWorld::step(std::mt19937_64& rng, const std::vector<std::string>& addresses) {
    Change c;
    const std::string dom = domains()[rng() % domains().size()];
    const unsigned pick = rng() % 20;
    const auto virsh = [&](std::vector<std::string> args) {
        std::string line = "virsh";
        for (const auto& a : args) line += " " + a;
        c.command += (c.command.empty() ? "" : "; ") + line;
        auto r = libvirtd_->virsh(std::move(args));
        c.outcome = r.exitCode == 0 ? "ok" : "exit " + std::to_string(r.exitCode) + ": " + r.err.substr(0, r.err.find('\n'));
        return r.exitCode == 0;
    };
    const bool running = libvirtd_->virsh({"domstate", dom}).out.find("running") != std::string::npos;
    if (pick < 6) {
        // A VM boots with its VFs (they hold its memory from now on), or stops.
        virsh({running ? "destroy" : "start", dom});
    } else if (pick < 9) {
        // The platform deletes the VM and makes a new one of that name.
        if (running) virsh({"destroy", dom});
        if (virsh({"undefine", dom})) c.touched.insert(dom);
        defineEmpty(dom);
        c.command += "; virsh define " + dom + ".xml (no hostdevs)";
    } else if (pick < 17) {
        // Someone edits a stopped VM's XML by hand: takes one of its hostdevs out, or puts one
        // of aismid's VFs in (aismid adopts it, or reports the conflict).
        if (running) {
            virsh({"destroy", dom});
            return c;
        }
        auto xml = libvirtd_->virsh({"dumpxml", "--inactive", dom});
        if (xml.exitCode != 0) return c;
        const auto has = hostdevAddresses(xml.out);
        std::string edited;
        if (pick < 12 && !has.empty()) {
            c.removed = has[rng() % has.size()];
            edited = withoutHostdev(xml.out, c.removed);
        } else if (!addresses.empty()) {
            c.added = addresses[rng() % addresses.size()];
            edited = xml.out;
            const size_t devices = edited.find("</devices>");
            if (devices == std::string::npos) return c;
            edited.insert(devices, hostdevOf(c.added));
        } else {
            return c;
        }
        test::TempDir dir;
        const std::string file = dir / (dom + ".xml");
        std::ofstream(file) << edited;
        const bool defined = virsh({"define", file});
        c.touched.insert(dom);
        c.command = "virsh edit " + dom + " (" + (c.removed.empty() ? "adds the hostdev of " + c.added : "takes out the hostdev of " + c.removed) + ")";
        if (!defined) c.removed.clear(), c.added.clear();
    } else {
        // libvirtd crashes and comes back; the test driver comes back empty, the platform
        // defines its VMs again.
        libvirtd_->kill();
        const auto ms = 200 + rng() % 2000;
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        libvirtd_->start();
        for (const auto& d : domains()) defineEmpty(d), c.touched.insert(d);
        c.restarted = true;
        c.command = "kill -9 $(pidof libvirtd); sleep " + std::to_string(ms / 1000.0) + "; libvirtd & virsh define vm*.xml";
        c.outcome = "restarted";
    }
    return c;
}

}  // namespace aismi::chaos
