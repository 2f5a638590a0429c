#include "declared_layouts.hpp"
#include "conf_dir.hpp"
#include "daemon_config.hpp"

#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "layout_service.hpp"
#include "log.hpp"
#include "snapshot.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/text.hpp>

#include <algorithm>
#include <sstream>

namespace aismi {

bool DeclaredLayout::matches(const CardInfo& card) const {
    return std::find(serials.begin(), serials.end(), card.serial) != serials.end() ||
           std::find(addresses.begin(), addresses.end(), card.address) != addresses.end() ||
           std::find(devices.begin(), devices.end(), DeviceMatch{card.vendorId, card.deviceId}) != devices.end();
}

Result<std::vector<DeclaredLayout>> parseDeclaredLayouts(std::string_view content, const std::string& what) {
    std::vector<DeclaredLayout> out;
    bool sawCards = false, sawLayout = false;
    unsigned sectionLine = 0;
    const auto complete = [&]() -> Result<void> {
        if (out.empty()) return {};
        if (!sawCards || !sawLayout)
            return makeError(Errc::ConfigInvalid, what + " line " + std::to_string(sectionLine) + ": layout '" + out.back().name + "' needs cards and layout");
        return {};
    };
    std::istringstream in{std::string(content)};
    unsigned lineNo = 0;
    for (std::string raw; std::getline(in, raw);) {
        ++lineNo;
        const std::string here = what + " line " + std::to_string(lineNo);
        const std::string uncommented = raw.substr(0, raw.find('#'));
        const std::string_view line = text::trim(uncommented);
        if (line.empty()) continue;
        if (line.front() == '[') {
            if (line.back() != ']' || !line.starts_with("[layout "))
                return makeError(Errc::ConfigInvalid, here + ": expected '[layout NAME]', got '" + std::string(line.substr(0, 64)) + "'");
            if (auto r = complete(); !r) return std::move(r).error();
            const std::string name(text::trim(line.substr(8, line.size() - 9)));
            if (name.empty() || name.size() > 64 || name.find_first_of(" \t") != std::string::npos)
                return makeError(Errc::ConfigInvalid, here + ": '" + name.substr(0, 64) + "' is not a layout name (no spaces, at most 64)");
            for (const auto& d : out)
                if (d.name == name) return makeError(Errc::ConfigInvalid, here + ": layout '" + name + "' is defined twice");
            out.push_back(DeclaredLayout{name, here, {}, {}, {}, {}});
            sawCards = sawLayout = false;
            sectionLine = lineNo;
            continue;
        }
        const size_t eq = line.find('=');
        if (eq == std::string_view::npos) return makeError(Errc::ConfigInvalid, here + ": expected 'key = value'");
        if (out.empty()) return makeError(Errc::ConfigInvalid, here + ": a setting before the first '[layout NAME]'");
        const std::string_view key = text::trim(line.substr(0, eq)), value = text::trim(line.substr(eq + 1));
        DeclaredLayout& d = out.back();
        if (key == "cards") {
            if (sawCards) return makeError(Errc::ConfigInvalid, here + ": cards is given twice");
            sawCards = true;
            size_t start = 0;
            while (start <= value.size()) {
                const size_t comma = std::min(value.find(',', start), value.size());
                const std::string_view item = text::trim(value.substr(start, comma - start));
                start = comma + 1;
                const size_t colon = item.find(':');
                const std::string_view kind = item.substr(0, colon == std::string_view::npos ? 0 : colon);
                const std::string_view arg = colon == std::string_view::npos ? std::string_view() : item.substr(colon + 1);
                if (kind == "serial" && !arg.empty()) {
                    d.serials.emplace_back(arg);
                } else if (kind == "address") {
                    auto ref = DeviceRef::parse(arg);
                    if (!ref || ref->kind != DeviceRef::Kind::Address)
                        return makeError(Errc::ConfigInvalid, here + ": '" + std::string(arg.substr(0, 32)) + "' is not a PCI address");
                    d.addresses.push_back(ref->address);
                } else if (kind == "device") {
                    auto m = DeviceMatch::parse(arg);
                    if (!m) return makeError(Errc::ConfigInvalid, here + ": " + m.error().message);
                    d.devices.push_back(*m);
                } else {
                    return makeError(Errc::ConfigInvalid, here + ": '" + std::string(item.substr(0, 40)) +
                                                              "' does not name cards (serial:S, address:DDDD:BB:DD.F or device:VVVV:DDDD)");
                }
            }
        } else if (key == "layout") {
            if (sawLayout) return makeError(Errc::ConfigInvalid, here + ": layout is given twice");
            sawLayout = true;
            if (auto items = parseLayout(value); !items) return makeError(Errc::ConfigInvalid, here + ": " + items.error().message);
            d.layout = std::string(value);
        } else {
            return makeError(Errc::ConfigInvalid, here + ": unknown setting '" + std::string(key.substr(0, 40)) + "' (a layout has cards and layout)");
        }
    }
    if (auto r = complete(); !r) return std::move(r).error();
    return out;
}

Result<std::vector<DeclaredLayout>> loadDeclaredLayouts(const std::string& dir) {
    std::vector<DeclaredLayout> all;
    auto files = readConfDir(dir);
    if (!files) return std::move(files).error();
    for (const auto& [file, content] : *files) {
        auto parsed = parseDeclaredLayouts(content, file);
        if (!parsed) return std::move(parsed).error();
        for (auto& d : *parsed) {
            for (const auto& other : all)
                if (other.name == d.name) return makeError(Errc::ConfigInvalid, d.origin + ": layout '" + d.name + "' is already defined (" + other.origin + ")");
            all.push_back(std::move(d));
        }
    }
    return all;
}

void DeclaredLayouts::set(std::vector<DeclaredLayout> declared) {
    declared_ = std::move(declared);
    applyAll();
}

void DeclaredLayouts::applyAll() {
    problems_.clear();
    for (unsigned card = 0; card < inventory_.size(); ++card) {
        const CardInfo& info = inventory_.info(card);
        std::vector<const DeclaredLayout*> claims;
        for (const auto& d : declared_)
            if (d.matches(info)) claims.push_back(&d);
        if (claims.empty()) continue;
        if (claims.size() > 1) {
            std::string names;
            for (const auto* d : claims) names += (names.empty() ? "" : " and ") + d->name + " (" + d->origin + ")";
            problems_[info.key] = "declared layouts " + names + " both claim the card; neither is applied";
            events_.publish(Notice{EventType::Layout, Severity::Warning, info.label(), problems_[info.key], info.index});
            continue;
        }
        const DeclaredLayout& d = *claims.front();
        auto plan = layouts_.plan(card, d.layout);
        if (!plan) {
            problems_[info.key] = "declared layout " + d.name + " (" + d.origin + ") is not applied: " + plan.error().message;
            events_.publish(Notice{EventType::Layout, Severity::Warning, info.label(), problems_[info.key], info.index});
            continue;
        }
        const bool already = plan->vfCount == plan->vfCountBefore &&
                             std::all_of(plan->vfs.begin(), plan->vfs.end(), [](const LayoutPlan::Vf& v) { return v.unchanged; });
        if (already) continue;
        events_.publish(Notice{EventType::Layout, Severity::Info, info.label(), "applying declared layout " + d.name + " (" + d.layout + ")", info.index});
        const std::string key = info.key, label = info.label(), name = d.name;
        auto job = layouts_.apply(card, d.layout, [this, key, label, name](Result<void> r) {
            if (!r) problems_[key] = "declared layout " + name + " failed: " + r.error().message;
        });
        if (!job) {
            problems_[key] = "declared layout " + d.name + " is not applied: " + job.error().message;
            events_.publish(Notice{EventType::Layout, Severity::Warning, label, problems_[key], card});
        }
    }
}

void DeclaredLayouts::annotate(CardSnapshot& card) {
    if (auto it = problems_.find(card.info.key); it != problems_.end()) card.configProblems.push_back(it->second);
}

void DeclaredLayouts::reload(const DaemonConfig& config) {
    auto declared = loadDeclaredLayouts(config.layoutsDir);
    if (!declared) return log::error("reload: " + declared.error().message + "; keeping the declared layouts read before");
    log::info("reload: " + std::to_string(declared->size()) + " declared layouts");
    set(std::move(*declared));
}

}  // namespace aismi
