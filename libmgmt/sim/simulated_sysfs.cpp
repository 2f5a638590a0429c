#include "simulated_sysfs.hpp"

#include <aismi/text.hpp>
#include "clock.hpp"
#include "config_space_builder.hpp"
#include "sim_state_dir.hpp"
#include "write_freeze.hpp"

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>

namespace aismi::sim {
namespace {

constexpr std::string_view kHostDriver = "aismi";
constexpr std::string_view kVfioDriver = "vfio-pci";
constexpr unsigned kIommuGroupsPerCard = 1000;

using Parts = std::vector<std::string_view>;

Parts split(std::string_view path) {
    Parts parts;
    size_t start = 0;
    while (start < path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        if (end > start) parts.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

struct Node {
    enum class Kind { Dir, File, Link } kind = Kind::Dir;
    std::vector<std::string> children;
    std::string target;
    std::function<Result<std::string>()> read;
    std::function<Result<void>(std::string_view)> write;
};

Node dir(std::vector<std::string> children) { return Node{Node::Kind::Dir, std::move(children), {}, {}, {}}; }
Node link(std::string target) { return Node{Node::Kind::Link, {}, std::move(target), {}, {}}; }
Node file(std::function<Result<std::string>()> read, std::function<Result<void>(std::string_view)> write = {}) {
    return Node{Node::Kind::File, {}, {}, std::move(read), std::move(write)};
}
Node value(std::string v) {
    return file([v = std::move(v)]() -> Result<std::string> { return v; });
}

std::string hex4(unsigned v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04x", v & 0xffff);
    return buf;
}

// A VF's status as `key value` pairs, each followed by `sep` (a line each, or one line).
void appendVfStatus(std::string& o, const SimCardView& m, const std::vector<double>& shares, unsigned vf, int64_t now, char sep) {
    const SimFunction& fn = m.card().vfs[vf];
    const auto put = [&](std::string_view key, auto value) {
        o += key;
        o += ' ';
        if constexpr (std::is_convertible_v<decltype(value), std::string_view>) {
            o += value;
        } else {
            char buf[24];
            o.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, value).ptr - buf));
        }
        o += sep;
    };
    put("state", vfStateName(m.vfState(vf, now)));
    put("progress", m.progress(vf, now, shares));
    put("utilization_pct", m.vfWorking(vf, now) ? 100u : 0u);
    put("memory_used_mib", m.vfMemoryUsedMib(vf));
    put("ecc_corrected", fn.eccCorrected);
    put("ecc_uncorrected", fn.eccUncorrected);
    put("reset_count", fn.resetCount);
    char share[32];  // one decimal, as "%.1f" (to_chars: no locale, no format parsing per VF)
    const auto end = std::to_chars(share, share + sizeof share, shares[vf], std::chars_format::fixed, 1).ptr;
    put("compute_share", std::string_view(share, static_cast<size_t>(end - share)));
    put("throttled", m.throttled(vf, shares) ? 1u : 0u);
}

// Appends "compute_units N<sep>memory_mib N<sep>...": the keys of a VF's resources.
void appendResources(std::string& o, const Resources& r, char sep) {
    bool first = true;
    for (auto [key, v] : {std::pair<std::string_view, uint64_t>{"compute_units", r.computeUnits},
                          {"memory_mib", r.memoryMib},
                          {"engines", r.engines},
                          {"burst_units", r.burstCap()},
                          {"weight", r.weight}}) {
        if (!first) o += sep;
        first = false;
        o += key;
        o += ' ';
        char buf[24];
        o.append(buf, static_cast<size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
    }
}

std::string resourcesText(const Resources& r, char sep) {
    std::string o;
    appendResources(o, r, sep);
    return o;
}

std::string linkSpeed(bool degraded) { return degraded ? "8.0 GT/s PCIe" : "16.0 GT/s PCIe"; }

class SimulatedSysfs final : public Fs {
public:
    SimulatedSysfs(SimStateDir& dir, Clock& clock) : dir_(dir), clock_(clock) {}

    Result<std::string> read(std::string_view path) const override {
        auto node = resolve(path);
        if (!node) return std::move(node).error();
        if (node->kind == Node::Kind::Dir) return Error::fromErrno(EISDIR, "read " + full(path));
        if (node->kind == Node::Kind::Link) return Error::fromErrno(EISDIR, "read " + full(path));
        if (!node->read) return Error::fromErrno(EACCES, "open " + full(path));
        auto r = node->read();
        if (!r) return std::move(r).error().context("read " + full(path));
        return r;
    }

    Result<void> write(std::string_view path, std::string_view data) override {
        auto node = resolve(path);
        if (!node) return std::move(node).error();
        if (node->kind != Node::Kind::File) return Error::fromErrno(EISDIR, "open " + full(path));
        if (!node->write) return Error::fromErrno(EACCES, "open " + full(path));
        const unsigned number = freezeBeforeWrite(dir_.dir(), path);
        auto r = node->write(data);
        freezeAfterWrite(dir_.dir(), path, number);
        if (!r) return std::move(r).error().context("write " + full(path));
        return r;
    }

    Result<std::vector<std::string>> list(std::string_view path) const override {
        auto node = resolve(path);
        if (!node) return std::move(node).error();
        if (node->kind != Node::Kind::Dir) return Error::fromErrno(ENOTDIR, "list " + full(path));
        std::sort(node->children.begin(), node->children.end());
        return std::move(node->children);
    }

    Result<std::string> readLink(std::string_view path) const override {
        auto node = resolve(path);
        if (!node) return std::move(node).error();
        if (node->kind != Node::Kind::Link) return Error::fromErrno(EINVAL, "readlink " + full(path));
        return node->target;
    }

    bool exists(std::string_view path) const override { return resolve(path).ok(); }

    std::string describe() const override { return "simulated cards in " + dir_.dir(); }

private:
    // A function as one lookup found it, with the card state it was found in: everything
    // read about it comes from that one state, so a writer replacing the card file between
    // two reads (a power cycle dropping VFs) cannot make the index point past the VFs.
    struct Fn {
        unsigned card;
        int index;  // -1 = PF
        PciAddress address;
        std::shared_ptr<const SimCard> state;  // null: the card file cannot be read (damaged)
        std::optional<Error> damage;           // why, for every read but the identity
    };

    std::string full(std::string_view path) const { return "<sim:" + dir_.dir() + ">/" + std::string(path); }

    static Error errnoError(int err) { return Error::fromErrno(err, "simulated kernel"); }

    // Runs `op` under the state directory's lock against card `c`; `op` returns an errno.
    Result<void> change(unsigned c, const std::function<int(SimCardModel&, int64_t)>& op) const {
        const int64_t now = clock_.nowNs();
        int err = 0;
        auto r = dir_.mutate(c, [&](SimCard& card) -> Result<void> {
            SimCardModel model(dir_.config(), card);
            err = op(model, now);
            if (err) return errnoError(err);
            return {};
        });
        if (!r && err) return errnoError(err);  // the plain errno, as write(2) would give it
        return r;
    }

    Result<std::shared_ptr<const SimCard>> card(unsigned c) const { return dir_.card(c); }

    std::optional<Fn> findFunction(std::string_view name) const {
        auto address = PciAddress::parse(name);
        if (!address) return std::nullopt;
        // Card c owns routing IDs [PF, PF + offset + TotalVFs), starting at bus 0x3b + 2c: the
        // bus names the only card that can hold the address, and only that card is read.
        if (address->bus() < SimCardView::pfAddressOf(0).bus()) return std::nullopt;
        const unsigned c = (address->bus() - SimCardView::pfAddressOf(0).bus()) / 2u;
        if (c >= dir_.config().cards) return std::nullopt;
        const PciAddress pf = SimCardView::pfAddressOf(c);
        if (address->rid() < pf.rid() || address->rid() >= pf.rid() + kFirstVfOffset + dir_.config().totalVfs * kVfStride)
            return std::nullopt;
        auto state = card(c);
        // A card whose file cannot be read is still in its slot: its PF answers with the
        // error, as a real card with broken config space does; it has no VFs.
        if (!state) return *address == pf ? std::optional(Fn{c, -1, pf, nullptr, state.error()}) : std::nullopt;
        auto fn = SimCardView(dir_.config(), **state).functionAt(*address);
        if (!fn) return std::nullopt;
        return Fn{c, *fn, *address, *state, std::nullopt};
        return std::nullopt;
    }

    std::vector<std::string> allFunctions() const {
        std::vector<std::string> names;
        for (unsigned c = 0; c < dir_.config().cards; ++c) {
            names.push_back(SimCardView::pfAddressOf(c).str());
            auto state = card(c);
            if (!state) continue;
            SimCardView view(dir_.config(), **state);
            for (unsigned k = 0; k < (*state)->vfs.size(); ++k) names.push_back(view.vfAddress(k)->str());
        }
        return names;
    }

    unsigned iommuGroupOf(const Fn& f) const { return f.card * kIommuGroupsPerCard + static_cast<unsigned>(f.index + 1); }

    Result<Node> resolve(std::string_view path) const {
        const Parts p = split(path);
        auto r = resolveParts(p);
        if (!r) return Error::fromErrno(ENOENT, "open " + full(path));
        return std::move(*r);
    }

    std::optional<Node> resolveParts(const Parts& p) const {
        if (p.empty()) return dir({"bus", "class", "kernel"});
        if (p[0] == "class") return classNode(Parts(p.begin() + 1, p.end()));
        if (p[0] == "bus") {
            if (p.size() == 1) return dir({"pci"});
            if (p[1] != "pci") return std::nullopt;
            if (p.size() == 2) return dir({"devices", "drivers", "drivers_probe"});
            if (p[2] == "devices") {
                if (p.size() == 3) return dir(allFunctions());
                auto fn = findFunction(p[3]);
                if (!fn) return std::nullopt;
                return functionNode(*fn, Parts(p.begin() + 4, p.end()));
            }
            if (p[2] == "drivers") return driverNode(Parts(p.begin() + 3, p.end()));
            if (p[2] == "drivers_probe" && p.size() == 3)
                return file({}, [this](std::string_view data) { return probe(text::trim(data)); });
            return std::nullopt;
        }
        if (p[0] == "kernel") return iommuNode(Parts(p.begin() + 1, p.end()));
        return std::nullopt;
    }

    // The firmware-upload class (Documentation/ABI/testing/sysfs-class-firmware): one device
    // per card whose PF the aismi driver holds, named after the PF, linked to it by `device`.
    static std::string uploadName(unsigned c) { return "aismi-" + SimCardView::pfAddressOf(c).str(); }
    std::string uploadBuffer(unsigned c) const { return dir_.dir() + "/card" + std::to_string(c) + ".upload"; }

    std::optional<Node> classNode(const Parts& p) const {
        if (p.empty()) return dir({"firmware"});
        if (p[0] != "firmware") return std::nullopt;
        std::vector<unsigned> cards;
        for (unsigned c = 0; c < dir_.config().cards; ++c)
            if (auto s = card(c); s && (*s)->pf.driver == kHostDriver) cards.push_back(c);
        if (p.size() == 1) {
            std::vector<std::string> names;
            for (unsigned c : cards) names.push_back(uploadName(c));
            return dir(names);
        }
        const auto it = std::find_if(cards.begin(), cards.end(), [&](unsigned c) { return uploadName(c) == p[1]; });
        if (it == cards.end()) return std::nullopt;
        const unsigned c = *it;
        if (p.size() == 2) return dir({"cancel", "data", "device", "error", "loading", "remaining_size", "status"});
        if (p.size() != 3) return std::nullopt;
        const std::string_view f = p[2];
        if (f == "device") return link("../../../bus/pci/devices/" + SimCardView::pfAddressOf(c).str());
        if (f == "status")
            return liveFile(c, [](const SimCardView& m, int64_t now) { return std::string(uploadPhaseName(m.uploadAt(now).phase)) + "\n"; });
        if (f == "remaining_size")
            return liveFile(c, [](const SimCardView& m, int64_t now) { return std::to_string(m.uploadAt(now).remaining) + "\n"; });
        if (f == "error")
            return file([this, c]() -> Result<std::string> {
                auto s = card(c);
                if (!s) return std::move(s).error();
                const SimCardView m(dir_.config(), **s);
                const int64_t now = clock_.nowNs();
                if (m.uploadAt(now).phase != UploadPhase::Idle) return errnoError(EBUSY);  // only once idle
                const std::string e = m.uploadErrorAt(now);
                return e.empty() ? std::string() : e + "\n";
            });
        if (f == "cancel")
            return file({}, [this, c](std::string_view data) -> Result<void> {
                if (text::trim(data) != "1") return errnoError(EINVAL);
                return change(c, [](SimCardModel& m, int64_t now) { return m.cancelUpload(now); });
            });
        if (f == "loading")
            return file(
                [this, c]() -> Result<std::string> {
                    auto s = card(c);
                    if (!s) return std::move(s).error();
                    return std::string((*s)->fwLoading ? "1\n" : "0\n");
                },
                [this, c](std::string_view data) { return setLoading(c, text::trim(data)); });
        if (f == "data")
            return file({}, [this, c](std::string_view data) -> Result<void> {
                auto s = card(c);
                if (!s) return std::move(s).error();
                if (!(*s)->fwLoading) return errnoError(EINVAL);
                // One bank and a margin; the device refuses the size itself once loading ends.
                std::error_code ec;
                const auto held = std::filesystem::file_size(uploadBuffer(c), ec);
                if (!ec && held + data.size() > (uint64_t{dir_.config().flashBankKib} + 1024) * 1024) return errnoError(EFBIG);
                std::ofstream out(uploadBuffer(c), std::ios::binary | std::ios::app);
                out.write(data.data(), static_cast<std::streamsize>(data.size()));
                if (!out.flush()) return errnoError(EIO);
                return {};
            });
        return std::nullopt;
    }

    Result<void> setLoading(unsigned c, std::string_view v) const {
        if (v == "1") {
            auto r = change(c, [](SimCardModel& m, int64_t now) { return m.beginLoading(now); });
            if (r) std::filesystem::remove(uploadBuffer(c));
            return r;
        }
        if (v == "-1") {
            std::filesystem::remove(uploadBuffer(c));
            return change(c, [](SimCardModel& m, int64_t) { return m.abortLoading(), 0; });
        }
        if (v != "0") return errnoError(EINVAL);
        // The device's timeline starts when `loading` 0 is written, as a real one's does: the
        // simulation's own reading and hashing of the image overlaps it instead of delaying it.
        const int64_t at = clock_.nowNs();
        std::vector<uint8_t> image;
        if (FILE* in = std::fopen(uploadBuffer(c).c_str(), "rb")) {
            std::error_code ec;
            image.resize(static_cast<size_t>(std::filesystem::file_size(uploadBuffer(c), ec)));
            image.resize(std::fread(image.data(), 1, image.size(), in));
            std::fclose(in);
        }
        std::filesystem::remove(uploadBuffer(c));
        return change(c, [&image, at](SimCardModel& m, int64_t) { return m.startUpload(image, at); });
    }

    std::optional<Node> iommuNode(const Parts& p) const {
        if (p.empty()) return dir({"iommu_groups"});
        if (p[0] != "iommu_groups") return std::nullopt;
        if (p.size() == 1) {
            std::vector<std::string> groups;
            for (const auto& name : allFunctions()) groups.push_back(std::to_string(iommuGroupOf(*findFunction(name))));
            return dir(groups);
        }
        auto group = text::parseUnsigned(p[1], "group");
        if (!group) return std::nullopt;
        std::optional<Fn> member;
        for (const auto& name : allFunctions())
            if (auto f = findFunction(name); f && iommuGroupOf(*f) == *group) member = f;
        if (!member) return std::nullopt;
        if (p.size() == 2) return dir({"devices"});
        if (p[2] != "devices") return std::nullopt;
        if (p.size() == 3) return dir({member->address.str()});
        if (p.size() == 4 && p[3] == member->address.str())
            return link("../../../../devices/pci0000:00/" + member->address.str());
        return std::nullopt;
    }

    std::optional<Node> driverNode(const Parts& p) const {
        if (p.empty()) return dir({std::string(kHostDriver), std::string(kVfioDriver)});
        const std::string drv(p[0]);
        if (drv != kHostDriver && drv != kVfioDriver) return std::nullopt;
        if (p.size() == 1) {
            std::vector<std::string> children{"bind", "unbind", "new_id", "remove_id"};
            for (const auto& name : allFunctions())
                if (auto f = findFunction(name); f && functionState(*f).driver == drv) children.push_back(name);
            return dir(children);
        }
        if (p.size() != 2) return std::nullopt;
        if (p[1] == "bind") return file({}, [this, drv](std::string_view d) { return bind(drv, text::trim(d)); });
        if (p[1] == "unbind") return file({}, [this, drv](std::string_view d) { return unbind(drv, text::trim(d)); });
        if (p[1] == "new_id" || p[1] == "remove_id") return file({}, [](std::string_view) -> Result<void> { return {}; });
        if (auto f = findFunction(p[1]); f && functionState(*f).driver == drv)
            return link("../../../../devices/pci0000:00/" + f->address.str());
        return std::nullopt;
    }

    SimFunction functionState(const Fn& f) const {
        if (!f.state) return {};
        return f.index < 0 ? f.state->pf : f.state->vfs[static_cast<size_t>(f.index)];
    }

    Result<void> probe(std::string_view addr) const {
        auto f = findFunction(addr);
        if (!f) return errnoError(ENODEV);
        return change(f->card, [&](SimCardModel& m, int64_t) {
            if (!m.hasFunction(f->index)) return ENODEV;
            SimFunction& fn = m.function(f->index);
            if (!fn.driver.empty()) return 0;
            const std::string want = fn.driverOverride.empty() ? std::string(kHostDriver) : fn.driverOverride;
            if (want == kHostDriver || want == kVfioDriver) fn.driver = want;
            return 0;
        });
    }

    Result<void> bind(const std::string& drv, std::string_view addr) const {
        auto f = findFunction(addr);
        if (!f) return errnoError(ENODEV);
        return change(f->card, [&](SimCardModel& m, int64_t) {
            if (!m.hasFunction(f->index)) return ENODEV;
            SimFunction& fn = m.function(f->index);
            if (!fn.driver.empty()) return EBUSY;
            // vfio-pci has no ID table: it only takes a device named by driver_override.
            if (!fn.driverOverride.empty() ? fn.driverOverride != drv : drv == kVfioDriver) return ENODEV;
            fn.driver = drv;
            return 0;
        });
    }

    Result<void> unbind(const std::string& drv, std::string_view addr) const {
        auto f = findFunction(addr);
        if (!f) return errnoError(ENODEV);
        return change(f->card, [&](SimCardModel& m, int64_t now) {
            if (!m.hasFunction(f->index)) return ENODEV;
            SimFunction& fn = m.function(f->index);
            if (fn.driver != drv) return ENODEV;
            // A PF driver's remove() disables SR-IOV: its VFs vanish with it.
            if (f->index < 0 && drv == kHostDriver) m.setNumVfs(0, now);
            fn.driver.clear();
            return 0;
        });
    }

    std::optional<Node> functionNode(const Fn& f, const Parts& rest) const {
        if (!f.state) return damagedNode(f, rest);
        const SimCard* state = f.state.get();
        const bool pf = f.index < 0;
        const SimFunction& fn = pf ? state->pf : state->vfs[static_cast<size_t>(f.index)];
        if (rest.empty()) {
            std::vector<std::string> names = attributeNames(pf);
            if (!fn.driver.empty()) names.push_back("driver");
            if (pf) {
                for (unsigned k = 0; k < state->vfs.size(); ++k) names.push_back("virtfn" + std::to_string(k));
                if (state->pf.driver == kHostDriver) names.push_back(std::string(kHostDriver));
            }
            return dir(names);
        }
        if (rest[0] == "driver") {
            if (fn.driver.empty()) return std::nullopt;
            if (rest.size() == 1) return link("../../../../bus/pci/drivers/" + fn.driver);
            Parts sub{fn.driver};
            sub.insert(sub.end(), rest.begin() + 1, rest.end());
            return driverNode(sub);
        }
        if (pf && rest[0] == "hwmon") return hwmonNode(f, Parts(rest.begin() + 1, rest.end()));
        if (pf && rest[0] == kHostDriver) {
            if (state->pf.driver != kHostDriver) return std::nullopt;  // the vendor dir is the driver's
            return vendorNode(f, Parts(rest.begin() + 1, rest.end()));
        }
        if (rest.size() != 1) return std::nullopt;
        return attribute(f, *state, rest[0]);
    }

    static std::vector<std::string> attributeNames(bool pf) {
        std::vector<std::string> names{"vendor", "device", "class", "revision", "subsystem_vendor", "subsystem_device",
                                       "config", "reset", "reset_method", "driver_override", "iommu_group", "numa_node",
                                       "enable", "aer_dev_correctable", "aer_dev_nonfatal", "aer_dev_fatal"};
        if (pf)
            for (const char* n : {"sriov_totalvfs", "sriov_numvfs", "sriov_offset", "sriov_stride", "sriov_vf_device",
                                  "sriov_drivers_autoprobe", "current_link_speed", "current_link_width", "max_link_speed",
                                  "max_link_width", "hwmon"})
                names.emplace_back(n);
        else
            names.emplace_back("physfn");
        return names;
    }

    // Identity attributes are cached by the kernel at enumeration: they survive device loss.
    std::optional<Node> identityAttribute(bool pf, std::string_view name) const {
        const SimConfig& cfg = dir_.config();
        if (name == "vendor" || name == "subsystem_vendor") return value(hex4(cfg.vendorId) + "\n");
        if (name == "device" || name == "subsystem_device") return value(hex4(pf ? cfg.pfDeviceId : cfg.vfDeviceId) + "\n");
        if (name == "class") return value("0x120000\n");
        if (name == "revision") return value("0x01\n");
        return std::nullopt;
    }

    // The PF of a card whose file cannot be read: its identity, and the load error (which
    // names the file) for everything else. No driver, no VFs.
    std::optional<Node> damagedNode(const Fn& f, const Parts& rest) const {
        std::vector<std::string> names = attributeNames(true);
        std::erase(names, "hwmon");
        if (rest.empty()) return dir(names);
        if (rest.size() != 1) return std::nullopt;
        if (auto id = identityAttribute(true, rest[0])) return id;
        if (std::find(names.begin(), names.end(), rest[0]) == names.end()) return std::nullopt;
        if (rest[0] == "iommu_group") return link("../../../../kernel/iommu_groups/" + std::to_string(iommuGroupOf(f)));
        return file([e = *f.damage]() -> Result<std::string> { return e; },
                    [e = *f.damage](std::string_view) -> Result<void> { return e; });
    }

    std::optional<Node> attribute(const Fn& f, const SimCard& state, std::string_view name) const {
        const SimConfig& cfg = dir_.config();
        const bool pf = f.index < 0;
        if (!pf && static_cast<size_t>(f.index) >= state.vfs.size()) return std::nullopt;  // gone since the lookup
        const SimFunction& fn = pf ? state.pf : state.vfs[static_cast<size_t>(f.index)];
        const unsigned c = f.card;
        const int idx = f.index;
        if (auto id = identityAttribute(pf, name)) return id;
        if (name == "numa_node") return value(std::to_string(c % 2) + "\n");  // two NUMA nodes: even cards on 0, odd on 1
        if (name == "enable") return value("1\n");
        if (name == "config")
            return file([this, c, idx]() -> Result<std::string> {
                auto s = card(c);
                if (!s) return std::move(s).error();
                return buildConfigSpace(SimCardView(dir_.config(), **s), idx);
            });
        if (name == "iommu_group") return link("../../../../kernel/iommu_groups/" + std::to_string(iommuGroupOf(f)));
        if (name == "driver_override")
            return file([d = fn.driverOverride]() -> Result<std::string> { return (d.empty() ? "(null)" : d) + "\n"; },
                        [this, c, idx](std::string_view data) {
                            return change(c, [&](SimCardModel& m, int64_t) {
                                if (!m.hasFunction(idx)) return ENODEV;
                                m.function(idx).driverOverride = std::string(text::trim(data));
                                return 0;
                            });
                        });
        if (name == "reset_method")
            return file([m = fn.resetMethod, pf]() -> Result<std::string> { return (m.empty() ? (pf ? "flr bus" : "flr") : m) + "\n"; },
                        [this, c, idx, pf](std::string_view data) { return setResetMethod(c, idx, pf, text::trim(data)); });
        if (name == "reset") return file({}, [this, c, idx](std::string_view data) { return reset(c, idx, data); });
        if (name == "aer_dev_correctable")
            return value("RxErr 0\nBadTLP 0\nBadDLLP 0\nCorrIntErr " + std::to_string(fn.aer.correctable) + "\nTOTAL_ERR_COR " +
                         std::to_string(fn.aer.correctable) + "\n");
        if (name == "aer_dev_nonfatal")
            return value("UnsupReq 0\nUncorrIntErr " + std::to_string(fn.aer.nonfatal) + "\nTOTAL_ERR_NONFATAL " +
                         std::to_string(fn.aer.nonfatal) + "\n");
        if (name == "aer_dev_fatal") return value("DLP 0\nSurpDn 0\nTOTAL_ERR_FATAL " + std::to_string(fn.aer.fatal) + "\n");
        if (!pf) {
            if (name == "physfn") return link("../" + SimCardView(cfg, state).pfAddress().str());
            return std::nullopt;
        }
        if (name == "sriov_totalvfs") return value(std::to_string(cfg.totalVfs) + "\n");
        if (name == "sriov_numvfs")
            return file([n = state.vfs.size()]() -> Result<std::string> { return std::to_string(n) + "\n"; },
                        [this, c](std::string_view data) { return setNumVfs(c, data); });
        if (name == "sriov_offset") return value(std::to_string(kFirstVfOffset) + "\n");
        if (name == "sriov_stride") return value(std::to_string(kVfStride) + "\n");
        if (name == "sriov_vf_device") {
            char buf[8];
            std::snprintf(buf, sizeof buf, "%x\n", cfg.vfDeviceId);
            return value(buf);
        }
        if (name == "sriov_drivers_autoprobe") return value("1\n");
        if (name == "current_link_speed") return value(linkSpeed(state.linkDegraded) + "\n");
        if (name == "current_link_width") return value(state.linkDegraded ? "4\n" : "16\n");
        if (name == "max_link_speed") return value(linkSpeed(false) + "\n");
        if (name == "max_link_width") return value("16\n");
        if (name == "hwmon") return dir({"hwmon" + std::to_string(c)});
        if (name.starts_with("virtfn")) {
            auto k = text::parseUnsigned(name.substr(6), "virtfn");
            if (!k || *k >= state.vfs.size()) return std::nullopt;
            return link("../" + SimCardView(cfg, state).vfAddress(static_cast<unsigned>(*k))->str());
        }
        return std::nullopt;
    }

    // A file whose content is computed from the live card; a lost card answers ENODEV.
    Node liveFile(unsigned c, std::function<std::string(const SimCardView&, int64_t)> render) const {
        return file([this, c, render = std::move(render)]() -> Result<std::string> {
            auto s = card(c);
            if (!s) return std::move(s).error();
            if ((*s)->deviceLost) return errnoError(ENODEV);
            return render(SimCardView(dir_.config(), **s), clock_.nowNs());
        });
    }

    std::optional<Node> hwmonNode(const Fn& f, const Parts& p) const {
        const std::string name = "hwmon" + std::to_string(f.card);
        if (p.empty()) return dir({name});
        if (p[0] != name) return std::nullopt;
        if (p.size() == 1)
            return dir({"name", "temp1_input", "temp1_crit", "temp1_label", "power1_average", "power1_cap"});
        if (p.size() != 2) return std::nullopt;
        const unsigned c = f.card;
        if (p[1] == "name") return value("aismi\n");
        if (p[1] == "temp1_label") return value("card\n");
        if (p[1] == "temp1_crit") return value("95000\n");
        if (p[1] == "power1_cap") return value("300000000\n");
        if (p[1] == "temp1_input")
            return liveFile(c, [](const SimCardView& m, int64_t now) {
                return std::to_string(static_cast<long>(m.temperatureC(now) * 1000)) + "\n";
            });
        if (p[1] == "power1_average")
            return liveFile(c, [](const SimCardView& m, int64_t now) {
                return std::to_string(static_cast<long>(m.powerW(now) * 1e6)) + "\n";
            });
        return std::nullopt;
    }

    std::optional<Node> vendorNode(const Fn& f, const Parts& p) const {
        const unsigned c = f.card;
        auto loaded = card(c);
        if (!loaded) return std::nullopt;
        const SimCard* state = loaded->get();
        if (p.empty()) {
            std::vector<std::string> names{"abi_version", "name", "serial", "capacity", "telemetry", "firmware", "firmware_try", "firmware_commit", "vfs"};
            for (unsigned k = 0; k < state->vfs.size(); ++k) names.push_back("vf" + std::to_string(k));
            return dir(names);
        }
        if (p.size() == 1) {
            if (p[0] == "abi_version") return value("1\n");
            if (p[0] == "name") return value("AIS-1 Simulated\n");
            if (p[0] == "serial") return value(state->serial + "\n");
            if (p[0] == "capacity")
                return liveFile(c, [](const SimCardView& m, int64_t) {
                    const Resources& r = m.config().capacity;
                    return "compute_units " + std::to_string(r.computeUnits) + "\nmemory_mib " + std::to_string(r.memoryMib) +
                           "\nengines " + std::to_string(r.engines) + "\n";
                });
            if (p[0] == "telemetry")
                return liveFile(c, [](const SimCardView& m, int64_t) {
                    std::ostringstream o;
                    o << "utilization_pct " << m.utilizationPct(m.computeShares()) << "\nmemory_used_mib " << m.memoryUsedMib()
                      << "\nmemory_total_mib " << m.config().capacity.memoryMib << "\necc_corrected " << m.eccCorrectedTotal()
                      << "\necc_uncorrected " << m.eccUncorrectedTotal() << "\n";
                    return o.str();
                });
            if (p[0] == "vfs")  // every VF on one line each: "K key value ...", status then resources
                return liveFile(c, [](const SimCardView& m, int64_t now) {
                    std::string o;
                    o.reserve(m.card().vfs.size() * 200);
                    const std::vector<double> shares = m.computeShares();
                    for (unsigned k = 0; k < m.card().vfs.size(); ++k) {
                        o += std::to_string(k);
                        o += ' ';
                        appendVfStatus(o, m, shares, k, now, ' ');
                        appendResources(o, m.card().vfs[k].resources, ' ');
                        o += '\n';
                    }
                    return o;
                });
            if (p[0] == "firmware")
                return liveFile(c, [](const SimCardView& m, int64_t now) {
                    std::ostringstream o;
                    const FirmwareState fw = m.firmwareAt(now);
                    const auto dash = [](const std::string& v) { return v.empty() ? std::string("-") : v; };
                    for (int b = 0; b < 2; ++b)
                        o << "bank" << b << "_version " << dash(fw.banks[b].version) << "\nbank" << b << "_integrity "
                          << (fw.banks[b].integrityOk ? "ok" : "bad") << "\nbank" << b << "_sha256 " << dash(fw.banks[b].sha256) << "\n";
                    o << "active_bank " << fw.activeBank << "\nboot_bank " << fw.bootBank << "\ntry_bank "
                      << (fw.tryBank ? std::to_string(*fw.tryBank) : "none") << "\nlast_try "
                      << firmwareTryName(fw.lastTry)
                      << "\nselftest " << (fw.selftestOk.value_or(true) ? "pass" : "fail") << "\n";
                    return o.str();
                });
            if (p[0] == "firmware_try")
                return file({}, [this, c](std::string_view data) -> Result<void> {
                    const std::string_view v = text::trim(data);
                    if (v != "0" && v != "1" && v != "none") return errnoError(EINVAL);
                    const std::optional<unsigned> bank = v == "none" ? std::nullopt : std::optional<unsigned>(v[0] - '0');
                    return change(c, [bank](SimCardModel& m, int64_t now) { return m.armTry(bank, now); });
                });
            if (p[0] == "firmware_commit")
                return file({}, [this, c](std::string_view data) -> Result<void> {
                    if (text::trim(data) != "1") return errnoError(EINVAL);
                    return change(c, [](SimCardModel& m, int64_t now) { return m.commitFirmware(now); });
                });
        }
        if (!p[0].starts_with("vf")) return std::nullopt;
        auto k = text::parseUnsigned(p[0].substr(2), "vf");
        if (!k || *k >= state->vfs.size()) return std::nullopt;
        const auto vf = static_cast<unsigned>(*k);
        if (p.size() == 1) return dir({"resources", "scrub", "status"});
        if (p.size() != 2) return std::nullopt;
        if (p[1] == "resources")
            return Node{Node::Kind::File, {}, {},
                        [this, c, vf]() -> Result<std::string> {
                            auto s = card(c);
                            if (!s) return std::move(s).error();
                            if ((*s)->deviceLost) return errnoError(ENODEV);
                            if (vf >= (*s)->vfs.size()) return errnoError(ENODEV);
                            return resourcesText((*s)->vfs[vf].resources, '\n') + "\n";
                        },
                        [this, c, vf](std::string_view data) { return provision(c, vf, data); }};
        if (p[1] == "scrub")
            return Node{Node::Kind::File, {}, {},
                        [this, c, vf]() -> Result<std::string> {
                            auto s = card(c);
                            if (!s) return std::move(s).error();
                            if ((*s)->deviceLost || vf >= (*s)->vfs.size()) return errnoError(ENODEV);
                            return std::string((*s)->vfs[vf].memory.empty() ? "clean\n" : "dirty\n");
                        },
                        [this, c, vf](std::string_view data) -> Result<void> {
                            if (text::trim(data) != "1") return errnoError(EINVAL);
                            auto done = change(c, [vf](SimCardModel& m, int64_t) { return m.scrub(vf); });
                            // The write blocks while the firmware zeroes the VF's memory.
                            if (done) clock_.sleepNs(static_cast<int64_t>(dir_.config().vfProvisionUs * 1000.0 * dir_.config().timeFactor));
                            return done;
                        }};
        if (p[1] == "status")
            return liveFile(c, [vf](const SimCardView& m, int64_t now) {
                if (vf >= m.card().vfs.size()) return std::string("state error\n");
                std::string o;
                appendVfStatus(o, m, m.computeShares(), vf, now, '\n');
                return o;
            });
        return std::nullopt;
    }

    Result<void> setNumVfs(unsigned c, std::string_view data) const {
        // kstrtou16(): anything but a number is EINVAL, a number past 16 bits ERANGE.
        auto n = text::parseUnsigned(data, "sriov_numvfs");
        if (!n || text::trim(data).starts_with("0x")) return errnoError(EINVAL);
        if (*n > 0xffff) return errnoError(ERANGE);
        size_t changed = 0;
        auto r = change(c, [&](SimCardModel& m, int64_t now) {
            const size_t before = m.card().vfs.size();
            const int err = m.setNumVfs(static_cast<unsigned>(*n), now);
            if (!err) changed = before > *n ? before - *n : *n - before;
            return err;
        });
        // The write blocks while the kernel adds (or removes) and probes each VF.
        if (r && changed)
            clock_.sleepNs(static_cast<int64_t>(static_cast<double>(changed) * dir_.config().vfEnableUs * 1000 * dir_.config().timeFactor));
        return r;
    }

    Result<void> setResetMethod(unsigned c, int idx, bool pf, std::string_view data) const {
        std::string methods(data);
        if (methods == "default") methods.clear();
        std::istringstream words(methods);
        for (std::string w; words >> w;)
            if (w != "flr" && w != "pm" && !(pf && w == "bus")) return errnoError(EINVAL);
        return change(c, [&](SimCardModel& m, int64_t) {
            if (!m.hasFunction(idx)) return ENODEV;
            m.function(idx).resetMethod = methods;
            return 0;
        });
    }

    Result<void> reset(unsigned c, int idx, std::string_view data) const {
        auto v = text::parseUnsigned(data, "reset");
        if (!v || *v != 1) return errnoError(EINVAL);  // reset_store() accepts only "1"
        SimCardModel::FlrStart start;
        auto r = change(c, [&](SimCardModel& m, int64_t now) {
            start = m.beginFlr(idx, now);
            return start.err;
        });
        if (!r) return r;
        // The write blocks while the function resets, as pcie_flr() does in the kernel.
        clock_.sleepNs(start.blockNs);
        if (start.errAfterBlock) return errnoError(start.errAfterBlock);
        return {};
    }

    Result<void> provision(unsigned c, unsigned vf, std::string_view data) const {
        auto kv = text::parseKeyValues(data, "resources");
        if (!kv) return errnoError(EINVAL);
        // compute_units, memory_mib and engines; burst_units and weight are optional.
        auto cu = text::requireUnsigned(*kv, "compute_units", "");
        auto mem = text::requireUnsigned(*kv, "memory_mib", "");
        auto eng = text::requireUnsigned(*kv, "engines", "");
        if (!cu || !mem || !eng || *cu > UINT32_MAX || *eng > UINT32_MAX) return errnoError(EINVAL);
        Resources r{static_cast<uint32_t>(*cu), *mem, static_cast<uint32_t>(*eng)};
        size_t keys = 3;
        for (auto [key, slot] : {std::pair{"burst_units", &r.burstUnits}, {"weight", &r.weight}}) {
            if (!kv->count(key)) continue;
            auto v = text::requireUnsigned(*kv, key, "");
            if (!v || *v > UINT32_MAX) return errnoError(EINVAL);
            *slot = static_cast<uint32_t>(*v);
            ++keys;
        }
        if (kv->size() != keys) return errnoError(EINVAL);
        auto done = change(c, [&](SimCardModel& m, int64_t now) { return m.provision(vf, r, now); });
        // The write blocks while the firmware carves (or takes back) the VF's share.
        if (done) clock_.sleepNs(static_cast<int64_t>(dir_.config().vfProvisionUs * 1000.0 * dir_.config().timeFactor));
        return done;
    }

    SimStateDir& dir_;
    Clock& clock_;
};

}  // namespace

std::unique_ptr<Fs> makeSimulatedSysfs(SimStateDir& dir, Clock& clock) { return std::make_unique<SimulatedSysfs>(dir, clock); }

}  // namespace aismi::sim
