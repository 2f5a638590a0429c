#include <aismi/fs.hpp>
#include <aismi/pci_function.hpp>

#include <aismi/text.hpp>

#include <algorithm>
#include <cerrno>

namespace aismi {
namespace {

std::string basename(std::string_view link) {
    const size_t slash = link.rfind('/');
    return std::string(slash == std::string_view::npos ? link : link.substr(slash + 1));
}

std::vector<std::string> splitWords(std::string_view s) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
        size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\n') ++j;
        if (j > i) words.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return words;
}

// Reset methods that touch only the function itself. "bus" and "cxl_bus" reset the whole
// link below a bridge, which would take every sibling function (all the other VFs) with it.
bool isFunctionLocal(std::string_view method) {
    return method == "flr" || method == "af" || method == "pm" || method == "device_specific";
}

}  // namespace

PciFunction::PciFunction(Fs& fs, PciAddress address) : fs_(&fs), address_(address) {}

std::string PciFunction::path(std::string_view attr) const {
    std::string p = "bus/pci/devices/" + address_.str();
    if (!attr.empty()) {
        p += '/';
        p += attr;
    }
    return p;
}

bool PciFunction::present() const { return fs_->exists(path()); }

Result<std::string> PciFunction::readAttr(std::string_view attr) const {
    auto r = fs_->read(path(attr));
    if (!r) return std::move(r).error().context(address_.str());
    return std::string(text::trim(*r));
}

Result<uint64_t> PciFunction::readNumber(std::string_view attr) const {
    auto s = readAttr(attr);
    if (!s) return std::move(s).error();
    return text::parseUnsigned(*s, path(attr));
}

Result<void> PciFunction::writeAttr(std::string_view attr, std::string_view value) {
    auto r = fs_->write(path(attr), value);
    if (!r) return std::move(r).error().context(address_.str());
    return {};
}

Result<ConfigSpace> PciFunction::config() const {
    auto raw = fs_->read(path("config"));
    if (!raw) return std::move(raw).error().context(address_.str());
    auto cs = parseConfigSpace(*raw);
    if (!cs) return std::move(cs).error().context(address_.str());
    return cs;
}

Result<std::string> PciFunction::driver() const {
    auto link = fs_->readLink(path("driver"));  // one call: absent (ENOENT) means unbound
    if (!link && link.error().sysErrno == ENOENT) return std::string();
    if (!link) return std::move(link).error().context(address_.str());
    return basename(*link);
}

Result<void> PciFunction::bindDriver(const std::string& driverName) {
    if (driverName.empty() || driverName.find_first_of("/ \n") != std::string::npos)
        return makeError(Errc::InvalidArgument, "'" + driverName + "' is not a driver name");
    auto current = driver();
    if (!current) return std::move(current).error();
    if (*current == driverName) return {};
    const auto fail = [&](Error e) { return std::move(e).context(address_.str() + ": bind to " + driverName); };
    // driver_override makes drivers_probe pick exactly this driver (Documentation/ABI/testing/
    // sysfs-bus-pci), and keeps the host driver from grabbing the function back later.
    if (auto r = fs_->write(path("driver_override"), driverName); !r) return fail(std::move(r).error());
    if (!current->empty())
        if (auto r = fs_->write("bus/pci/drivers/" + *current + "/unbind", address_.str()); !r)
            return fail(std::move(r).error());
    if (auto r = fs_->write("bus/pci/drivers_probe", address_.str()); !r) return fail(std::move(r).error());
    auto after = driver();
    if (!after) return std::move(after).error();
    if (*after != driverName)
        return makeError(Errc::VerifyFailed, address_.str() + ": bind to " + driverName + ": the function is bound to '" +
                                                 *after + "' afterwards");
    return {};
}

Result<void> PciFunction::unbindDriver() {
    auto current = driver();
    if (!current) return std::move(current).error();
    if (current->empty()) return {};
    if (auto r = fs_->write("bus/pci/drivers/" + *current + "/unbind", address_.str()); !r)
        return std::move(r).error().context(address_.str() + ": unbind from " + *current);
    // Clear a previous override so a later drivers_probe picks the default driver again.
    if (fs_->exists(path("driver_override")))
        if (auto r = fs_->write(path("driver_override"), "\n"); !r) return std::move(r).error().context(address_.str());
    auto after = driver();
    if (!after) return std::move(after).error();
    if (!after->empty())
        return makeError(Errc::VerifyFailed, address_.str() + ": unbind: still bound to '" + *after + "'");
    return {};
}

Result<unsigned> PciFunction::iommuGroup() const {
    auto link = fs_->readLink(path("iommu_group"));
    if (!link && link.error().sysErrno == ENOENT)
        return makeError(Errc::NotFound, address_.str() + ": no IOMMU group (is the IOMMU enabled?)");
    if (!link) return std::move(link).error().context(address_.str());
    auto n = text::parseUnsigned(basename(*link), path("iommu_group"));
    if (!n) return std::move(n).error();
    return static_cast<unsigned>(*n);
}

Result<std::vector<PciAddress>> PciFunction::iommuGroupMembers() const {
    auto group = iommuGroup();
    if (!group) return std::move(group).error();
    auto names = fs_->list("kernel/iommu_groups/" + std::to_string(*group) + "/devices");
    if (!names) return std::move(names).error().context(address_.str());
    std::vector<PciAddress> members;
    for (const auto& name : *names) {
        auto a = PciAddress::parse(name);
        if (!a) return std::move(a).error().context("iommu group " + std::to_string(*group));
        members.push_back(*a);
    }
    return members;
}

Result<std::vector<std::string>> PciFunction::resetMethods() const {
    auto s = readAttr("reset_method");
    if (!s) return std::move(s).error();
    return splitWords(*s);
}

Result<void> PciFunction::setResetMethods(const std::vector<std::string>& methods) {
    return writeAttr("reset_method", text::join(methods, " "));
}

Result<void> PciFunction::functionLevelReset() {
    const std::string where = address_.str() + ": reset";
    auto before = config();
    if (!before) return std::move(before).error().context("reset");
    auto methods = resetMethods();
    if (!methods) return std::move(methods).error().context("reset");
    std::vector<std::string> local;
    std::copy_if(methods->begin(), methods->end(), std::back_inserter(local), isFunctionLocal);
    if (local.empty())
        return makeError(Errc::NotSupported, where + ": the kernel offers no function-level reset method (reset_method is '" +
                                                 readAttr("reset_method").valueOr("") + "')");
    // The kernel tries reset_method in order and may fall through to a bus reset; narrow it
    // to function-local methods for the duration so one function's reset never spreads.
    const bool narrowed = local.size() != methods->size();
    if (narrowed)
        if (auto r = setResetMethods(local); !r) return std::move(r).error().context("reset");
    auto reset = fs_->write(path("reset"), "1");
    if (narrowed) (void)setResetMethods(*methods);
    if (!reset) return std::move(reset).error().context(where);
    // A return code is not proof: the function must answer config reads as itself again.
    auto after = config();
    if (!after) return std::move(after).error().context("after reset");
    if (after->vendorId != before->vendorId || after->deviceId != before->deviceId || after->classCode != before->classCode)
        return makeError(Errc::ResetFailed, where + ": the function answers with a different identity afterwards");
    return {};
}

Result<AerCounters> PciFunction::aerCounters() const {
    AerCounters c;
    const std::pair<const char*, uint64_t*> files[] = {{"aer_dev_correctable", &c.correctable},
                                                       {"aer_dev_nonfatal", &c.nonfatal},
                                                       {"aer_dev_fatal", &c.fatal}};
    for (auto [file, slot] : files) {
        auto content = readAttr(file);
        if (!content) return std::move(content).error();
        auto kv = text::parseKeyValues(*content, path(file));
        if (!kv) return std::move(kv).error();
        // The kernel ends each file with TOTAL_ERR_COR / TOTAL_ERR_NONFATAL / TOTAL_ERR_FATAL.
        auto total = std::find_if(kv->begin(), kv->end(), [](auto& e) { return e.first.starts_with("TOTAL_ERR_"); });
        if (total == kv->end())
            return makeError(Errc::MalformedData, path(file) + ": no TOTAL_ERR_ line");
        auto n = text::parseUnsigned(total->second, path(file));
        if (!n) return std::move(n).error();
        *slot = *n;
    }
    return c;
}

}  // namespace aismi
