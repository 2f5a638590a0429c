#include "plugin_model.hpp"

#include <algorithm>
#include <cctype>
#include <set>

namespace aismi::deviceplugin {

Resources resourcesOf(const std::vector<VfView>& vfs, const std::string& prefix) {
    Resources out;
    for (const auto& vf : vfs) {
        if (vf.profile.empty() || !vf.domain.empty()) continue;  // not provisioned, or given to a VM
        if (!vf.holder.empty() && vf.holder != kKubeletHolder) continue;  // another consumer's
        PluginDevice d;
        d.id = vf.address;
        d.healthy = vf.health != "critical" && vf.health != "lost" && !vf.quarantined && !vf.scrubPending;
        d.card = vf.card;
        d.numaNode = vf.numaNode;
        d.iommuGroup = vf.iommuGroup;
        out[prefix + "/" + vf.profile].push_back(std::move(d));
    }
    for (auto& [name, devices] : out)
        std::sort(devices.begin(), devices.end(), [](const PluginDevice& a, const PluginDevice& b) { return a.id < b.id; });
    return out;
}

bool validResourcePrefix(const std::string& prefix) {
    // RFC 1123 subdomain: labels of [a-z0-9-], not starting or ending with '-', dot separated.
    if (prefix.empty() || prefix.size() > 253 || prefix.front() == '.' || prefix.back() == '.') return false;
    size_t label = 0;
    for (size_t i = 0; i < prefix.size(); ++i) {
        const char c = prefix[i];
        if (c == '.') {
            if (label == 0 || prefix[i - 1] == '-') return false;
            label = 0;
            continue;
        }
        if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-')) return false;
        if (label == 0 && c == '-') return false;
        if (++label > 63) return false;
    }
    return prefix.back() != '-';
}

std::string socketNameOf(const std::string& resource) {
    std::string name = "aismi-" + resource.substr(resource.find('/') + 1) + ".sock";
    for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
    return name;
}

std::string pciResourceEnv(const std::string& resource) {
    std::string out = "PCI_RESOURCE_";
    for (char c : resource) out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : '_';
    return out;
}

std::vector<std::string> preferredAllocation(const std::vector<std::string>& available, const std::vector<std::string>& mustInclude, size_t size,
                                             const std::map<std::string, PluginDevice>& known) {
    std::vector<std::string> chosen;
    std::set<unsigned> cards;
    std::set<int> nodes;
    const auto take = [&](const std::string& id) {
        if (chosen.size() >= size || std::find(chosen.begin(), chosen.end(), id) != chosen.end()) return;
        chosen.push_back(id);
        if (auto it = known.find(id); it != known.end()) {
            cards.insert(it->second.card);
            nodes.insert(it->second.numaNode);
        }
    };
    for (const auto& id : mustInclude) take(id);
    std::vector<std::string> rest = available;
    std::sort(rest.begin(), rest.end());
    // With nothing chosen yet, the card with the most free devices goes first: the request
    // then stays on one card when it can.
    if (cards.empty() && !rest.empty()) {
        std::map<unsigned, size_t> perCard;
        for (const auto& id : rest)
            if (auto it = known.find(id); it != known.end()) perCard[it->second.card]++;
        if (!perCard.empty()) {
            const auto best = std::max_element(perCard.begin(), perCard.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
            for (const auto& id : rest)
                if (auto it = known.find(id); it != known.end() && it->second.card == best->first) take(id);
        }
    }
    const auto pass = [&](auto&& wanted) {
        for (const auto& id : rest) {
            auto it = known.find(id);
            if (wanted(it == known.end() ? nullptr : &it->second)) take(id);
        }
    };
    pass([&](const PluginDevice* d) { return d && cards.count(d->card); });
    pass([&](const PluginDevice* d) { return d && nodes.count(d->numaNode); });
    pass([](const PluginDevice*) { return true; });
    return chosen;
}

std::vector<std::string> UnusedHolds::observe(const std::set<std::string>& held, const std::set<std::string>& inUse) {
    std::vector<std::string> release;
    std::map<std::string, unsigned> missed;
    for (const auto& vf : held) {
        if (inUse.count(vf)) continue;
        const unsigned n = (missed_.count(vf) ? missed_.at(vf) : 0) + 1;
        if (n >= lists_) release.push_back(vf);
        else missed[vf] = n;
    }
    missed_ = std::move(missed);
    return release;
}

}  // namespace aismi::deviceplugin
