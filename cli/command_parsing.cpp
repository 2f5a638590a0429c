#include "command_parsing.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/text.hpp>

#include <boost/program_options/options_description.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>

namespace aismi::cli {

Error usage(const std::string& what, const std::string& hint) { return makeError(Errc::InvalidArgument, what + " (" + hint + ")"); }

std::vector<std::string> splitComma(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream in(s);
    for (std::string item; std::getline(in, item, ',');) {
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

Result<unsigned> number(const std::string& text, const std::string& option, unsigned min, unsigned max, const std::string& hint) {
    const bool digits = !text.empty() && text.size() <= 10 && std::all_of(text.begin(), text.end(), ::isdigit);
    auto n = digits ? text::parseUnsigned(text, option) : Result<uint64_t>(makeError(Errc::InvalidArgument, ""));
    if (!n || *n < min || *n > max)
        return usage(option + " takes a whole number from " + std::to_string(min) + " to " + std::to_string(max) + ", not " + quoteInput(text),
                     hint);
    return static_cast<unsigned>(*n);
}

std::string didYouMean(const std::string& word) {
    static const std::map<std::string, std::string> words{
        {"--query-gpu", "--query-card"}, {"--list-gpus", "-L (--list-cards)"}, {"-r", "aismi reset -i ID"}, {"--gpu-reset", "aismi reset -i ID"},
        {"-x", "-j (--json)"},           {"--xml-format", "-j (--json)"},      {"-pm", "nothing: aismid keeps cards initialised"},
        {"temperature.gpu", "temperature"}, {"utilization.gpu", "utilization"}, {"pci.bus", "pci.bus_id"}, {"gpu_name", "name"},
        {"gpu_serial", "serial"},           {"driver_version", "driver"}};
    auto it = words.find(word);
    return it == words.end() ? "" : " (did you mean " + it->second + "?)";
}

std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates) {
    const auto distance = [](const std::string& a, const std::string& b) {
        std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
        for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
        for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
        for (size_t i = 1; i <= a.size(); ++i)
            for (size_t j = 1; j <= b.size(); ++j) {
                d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        return d[a.size()][b.size()];
    };
    if (word.size() > 64) return "";
    std::string best;
    size_t bestDistance = 3;
    for (const auto& c : candidates)
        if (const size_t n = distance(word, c); n < bestDistance && n * 3 < std::max(word.size(), c.size())) best = c, bestDistance = n;
    return best.empty() ? "" : " (did you mean " + best + "?)";
}

Result<std::vector<std::string>> ids(const CommandLine& c) {
    if (!c.has("id")) return std::vector<std::string>{};
    auto list = splitComma(c.text("id"));
    if (list.empty()) return usage("-i needs a card index, PCI address or serial");
    for (const auto& id : list)
        if (auto ref = DeviceRef::parse(id); !ref) return usage("-i: " + ref.error().message);
    return list;
}

Result<std::string> oneCard(const CommandLine& c, const std::string& command, const std::string& group) {
    auto selected = ids(c);
    if (!selected) return std::move(selected).error();
    const std::string name = group.empty() ? command : group + " " + command;
    if (selected->size() != 1) return usage(name + " needs exactly one card: -i ID", "aismi " + (group.empty() ? command : group) + " --help");
    if (auto ref = DeviceRef::parse(selected->front()); group.empty() && ref && ref->kind != DeviceRef::Kind::Card)
        return usage(name + " -i takes a card, not " + quoteInput(selected->front()) + " (aismi vf reset resets one VF)", "aismi " + command + " --help");
    return selected->front();
}

std::string tooManyWords(const CommandLine& c, const std::string& what) {
    return "takes " + what + ", not " + std::to_string(c.arguments.size()) + " words (" + quoteInput(text::join(c.arguments, " ")) + ")";
}

Result<std::string> oneVf(const CommandLine& c, const std::string& verb) {
    if (c.arguments.size() > 1) return usage("vf " + verb + " " + tooManyWords(c, "one VF"), "aismi vf --help");
    if (c.arguments.size() != 1) return usage("vf " + verb + " needs one VF: CARD:VF (0:3) or its PCI address", "aismi vf --help");
    auto ref = DeviceRef::parse(c.arguments[0]);
    if (!ref) return usage("vf " + verb + ": " + ref.error().message, "aismi vf --help");
    if (ref->kind == DeviceRef::Kind::Card)
        return usage("vf " + verb + ": " + quoteInput(c.arguments[0]) + " names a card; name a VF as CARD:VF (0:3)", "aismi vf --help");
    return c.arguments[0];
}

Result<std::vector<std::string>> cardIds(const CommandLine& c, const std::string& command, const std::string& hint) {
    auto selected = ids(c);
    if (!selected) return std::move(selected).error();
    for (const auto& id : *selected)
        // A PCI address may be the card's own (its PF): selectCards tells when it is a VF's.
        if (auto ref = DeviceRef::parse(id); ref && ref->kind == DeviceRef::Kind::Vf)
            return usage(command + " -i takes cards, not " + quoteInput(id), hint);
    return selected;
}

std::string optionLines(const boost::program_options::options_description& options) {
    std::ostringstream printed;
    printed << options;
    const std::string text = printed.str();
    const size_t firstLine = text.find('\n');
    return firstLine == std::string::npos ? text : text.substr(firstLine + 1);
}

}  // namespace aismi::cli
