#include "command_line.hpp"

#include "command_parsing.hpp"
#include "commands/dmon.hpp"
#include "commands/events.hpp"
#include "commands/firmware.hpp"
#include "commands/health.hpp"
#include "commands/partition.hpp"
#include "commands/policy.hpp"
#include "commands/provisioning.hpp"
#include "commands/query.hpp"
#include "commands/quota.hpp"
#include "commands/reset.hpp"
#include "commands/vf.hpp"

#include <aismi/device_ref.hpp>
#include <aismi/option_errors.hpp>
#include <aismi/text.hpp>

#include <boost/program_options.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <typeinfo>

namespace po = boost::program_options;

namespace aismi::cli {
namespace {

// What --help says before the options.
constexpr const char* kUsage = R"(Usage: aismi [OPTIONS]
       aismi [OPTIONS] vf list|enable|disable|provision|unprovision|reset|quarantine|unquarantine [OPTIONS]
       aismi [OPTIONS] vf bind|assign|release CARD:VF [OPTIONS]
       aismi [OPTIONS] profile list [OPTIONS]
       aismi [OPTIONS] quota set|show|remove [TENANT] [OPTIONS]
       aismi [OPTIONS] partition apply|show|export [LAYOUT] [OPTIONS]
       aismi [OPTIONS] policy set|show [OPTIONS]
       aismi [OPTIONS] health [-i ID[,ID...]] [-j]
       aismi [OPTIONS] reset -i ID [--force]
       aismi [OPTIONS] events [--since TIME] [-i ID[,ID...]] [--type TYPE[,TYPE...]] [--follow] [-j]
       aismi [OPTIONS] dmon [-i ID[,ID...]] [-s GROUPS] [-c COUNT] [-d SECONDS] [--vf] [-j]
       aismi [OPTIONS] firmware show|update|activate|rollback|jobs [IMAGE] [OPTIONS]

Shows and manages AI accelerator cards through aismid, the way nvidia-smi does for GPUs.
With no options: a summary of every card, then every enabled VF. Options may come before or
after the command words.

)";

// Every file of commands, in the order aismi --help lists their groups.
const std::vector<CommandSet>& commandSets() {
    static const std::vector<CommandSet> sets{queryCommands(),     vfCommands(),     provisioningCommands(), quotaCommands(),
                                              partitionCommands(), policyCommands(), healthCommands(),       resetCommands(),
                                              eventsCommands(),    dmonCommands(),   firmwareCommands()};
    return sets;
}

// The options aismi --help lists: -h, the queries' own, and -H.
po::options_description globalOptions() {
    po::options_description o("Options");
    o.add_options()("help,h", "show this help");
    commandSets().front().addOptions(o);
    o.add_options()("host,H", po::value<std::vector<std::string>>()->composing()->value_name("HOST"),
                    "[USER@]HOST[:PORT]: run against aismid on that host over SSH (repeatable for commands that only read)");
    return o;
}

// -H: [USER@]HOST[:PORT] as ssh takes it; nothing ssh could read as an option or a second word.
Result<void> checkHost(const std::string& host) {
    const auto bad = [&](const std::string& why) { return usage("-H " + quoteInput(host) + ": " + why); };
    if (host.empty()) return bad("needs [USER@]HOST[:PORT]");
    if (host.size() > 255) return bad("too long");
    if (host[0] == '-') return bad("a host does not start with '-'");
    for (unsigned char ch : host)
        if (!std::isalnum(ch) && std::string_view("._-@:[]%").find(static_cast<char>(ch)) == std::string_view::npos)
            return bad("a host name, IP address or [IPv6] with an optional user@ and :port, nothing else");
    const size_t at = host.find('@');
    if (at == 0 || at == host.size() - 1 || host.find('@', at + 1) != std::string::npos) return bad("one user before one '@'");
    const std::string target = at == std::string::npos ? host : host.substr(at + 1);
    std::string port;
    if (target[0] == '[') {
        const size_t close = target.find(']');
        if (close == std::string::npos || close == 1) return bad("an [IPv6] address needs its ']'");
        if (close + 1 < target.size()) {
            if (target[close + 1] != ':') return bad("only :PORT may follow ']'");
            port = target.substr(close + 2);
            if (port.empty()) return bad("a port after ':'");
        }
    } else if (const size_t colon = target.find(':'); colon != std::string::npos) {
        if (colon == 0) return bad("a host before ':'");
        port = target.substr(colon + 1);
        if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos) return bad("the port after ':' is a number (IPv6 goes in [ ])");
    }
    if (!port.empty()) {
        if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 || std::stoul(port) < 1 || std::stoul(port) > 65535)
            return bad("the port is 1 to 65535");
    }
    return {};
}

std::string optionSpelling(const std::string& name) {
    static const std::map<std::string, std::string> shortForms{{"id", "-i"}, {"json", "-j"}, {"query", "-q"}, {"display", "-d"},
                                                               {"loop", "-l"}, {"list-cards", "-L"}, {"lines", "-n"}, {"follow", "-f"},
                                                               {"count", "-c"}, {"select", "-s"}, {"host", "-H"}};
    auto it = shortForms.find(name);
    return it == shortForms.end() ? "--" + name : it->second + "/--" + name;
}

// aismi --help and aismi GROUP --help: text, printed without asking aismid.
struct HelpRequest {
    std::string text;
};

Result<void> printHelp(const HelpRequest& r, Session& s) {
    s.out << r.text;
    return {};
}

}  // namespace

Result<Command> parseCli(const std::vector<std::string>& args) {
    po::options_description all;
    all.add(globalOptions());
    for (const auto& set : commandSets())
        if (set.addOptions && &set != &commandSets().front()) set.addOptions(all);
    po::options_description hidden;
    hidden.add_options()("words", po::value<std::vector<std::string>>()->composing(), "");
    po::options_description parser;
    parser.add(all).add(hidden);
    // Every word is printable UTF-8 text: aismid refuses anything else, and a string that is not
    // UTF-8 cannot even be sent (D-Bus). Said here, naming the option or the word, as a usage error.
    const auto takesValue = [&](const std::string& option) {
        const std::string name = option.substr(0, option.find('='));
        const po::option_description* d = option.find('=') != std::string::npos ? nullptr
                                           : name.starts_with("--")               ? parser.find_nothrow(name.substr(2), false)
                                           : name.size() == 2                     ? parser.find_nothrow(name, false)
                                                                                  : nullptr;
        return d && d->semantic()->max_tokens() > 0;
    };
    bool positionalOnly = false;  // after "--"
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const bool option = !positionalOnly && a.starts_with("-") && a != "--";
        const bool valueOfPrevious = !option && !positionalOnly && i > 0 && args[i - 1].starts_with("-") && takesValue(args[i - 1]);
        const std::string where = option            ? quoteInput(a.substr(0, a.find('=')))
                                  : valueOfPrevious ? "the value of " + quoteInput(args[i - 1])
                                                    : "word " + std::to_string(i + 1) + " (" + quoteInput(a) + ")";
        if (a == "--") positionalOnly = true;
        if (!text::validUtf8(a)) return usage(where + " is not valid UTF-8 text");
        if (auto bad = text::firstControlCharacter(a))
            return usage(where + " holds a control character (" + text::escapeControl(a.substr(*bad, 1)) + " at byte " + std::to_string(*bad) +
                         " of " + quoteInput(a) + "); only printable text is accepted");
    }
    po::positional_options_description positional;
    positional.add("words", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(parser).positional(positional).run(), vm);
    } catch (const po::error& e) {
        // An nvidia-smi habit (--query-gpu=..., -r, -x) gets a pointer to aismi's word.
        for (const auto& a : args)
            if (auto hint = didYouMean(a.substr(0, a.find('='))); !hint.empty()) return usage(optionErrorText(e) + hint);
        // A typo of one of aismi's own options.
        std::vector<std::string> spellings;
        for (const auto& o : parser.options())
            if (!o->long_name().empty() && o->long_name() != "words") spellings.push_back("--" + o->long_name());
        for (const auto& a : args) {
            const std::string spelled = a.substr(0, a.find('='));
            if (spelled.size() > 2 && spelled.rfind("--", 0) == 0 && std::find(spellings.begin(), spellings.end(), spelled) == spellings.end())
                if (auto hint = didYouMean(spelled, spellings); !hint.empty()) return usage(optionErrorText(e) + hint);
        }
        return usage(optionErrorText(e));
    }
    CommandLine c;
    std::vector<std::string> hosts;
    for (const auto& [name, value] : vm) {
        if (name == "words") c.words = value.as<std::vector<std::string>>();
        else if (name == "host") hosts = value.as<std::vector<std::string>>();
        else c.values[name] = value.value().type() == typeid(std::string) ? value.as<std::string>() : std::string();  // a flag: ""
    }

    // The longest run of leading words that names a verb; a group name alone ("vf") is a
    // verb only for --help.
    const Verb* verb = nullptr;
    const CommandGroup* group = nullptr;
    std::vector<std::string> commands;  // for "did you mean"
    for (const auto& set : commandSets()) {
        for (const auto& v : set.verbs) {
            if (v.words.size() <= c.words.size() && std::equal(v.words.begin(), v.words.end(), c.words.begin()) && (!verb || v.words.size() > verb->words.size()))
                verb = &v;
            if (!v.words.empty()) commands.push_back(text::join(v.words, " "));
        }
        // A command group's first word ("vf"): its usage, --help and what it needs.
        for (const auto& g : set.groups) {
            if (!c.words.empty() && c.words[0] == g.word) group = &g;
            commands.push_back(g.word);
        }
    }
    const std::string hint = group ? "aismi " + std::string(group->word) + " --help" : "aismi --help lists the commands and options";
    if (c.has("help")) {
        HelpRequest r;
        if (group) {
            r.text = std::string(group->usage) + "Options:\n" + group->options() + "  -h [ --help ]         show this help\n";
        } else {
            std::ostringstream help;
            help << kUsage << globalOptions() << "\nCommands:\n";
            for (const auto& set : commandSets())
                for (const auto& g : set.groups) help << "  " << g.summary << "\n";
            r.text = help.str();
        }
        Command command = makeCommand("help", r, printHelp);
        command.local = true;
        return command;
    }
    if (verb && verb->takesArguments && c.words.size() > verb->words.size())
        c.arguments.assign(c.words.begin() + static_cast<long>(verb->words.size()), c.words.end());
    if (verb && !verb->words.empty() && !verb->takesArguments && c.words.size() > verb->words.size()) {
        const std::string name = text::join(verb->words, " ");
        const std::vector<std::string> extra(c.words.begin() + static_cast<long>(verb->words.size()), c.words.end());
        return usage("'aismi " + name + "' takes no words after it, not " + quoteInput(text::join(extra, " ")) + " (unknown command " +
                         quoteInput(text::join(c.words, " ")) + ")",
                     hint);
    }
    if (!verb || verb->words.size() + c.arguments.size() < c.words.size()) {
        const size_t known = verb && !verb->words.empty() ? verb->words.size() : (group ? 1 : 0);  // "vf lst": both words
        if (group && c.words.size() == 1) return usage("'aismi " + std::string(group->word) + "' needs " + group->needs, hint);
        const std::string typed = text::join(std::vector<std::string>(c.words.begin(), c.words.begin() + static_cast<long>(known) + 1), " ");
        return usage("unknown command " + quoteInput(typed) + didYouMean(typed, commands), hint);
    }
    for (const auto& [name, value] : c.values) {
        if (verb->options.count(name)) continue;
        const std::string where = verb->words.empty() ? "without a command" : "with '" + text::join(verb->words, " ") + "'";
        return usage(optionSpelling(name) + " does not go " + where, hint);
    }
    auto command = verb->parse(c);
    if (!command || hosts.empty()) return command;
    for (const auto& host : hosts) {
        if (auto ok = checkHost(host); !ok) return std::move(ok).error();
        if (std::find(command->hosts.begin(), command->hosts.end(), host) == command->hosts.end()) command->hosts.push_back(host);
    }
    // Said before connecting, with the way that works.
    if (!command->localOnly.empty()) return usage(command->localOnly, "docs/by-hand.md");
    if (command->hosts.size() > 1 && !command->readsOnce)
        return usage("several -H hosts go only with commands that read once (queries, lists, show, health, events without --follow); "
                     "changes, --loop, dmon and --follow go to one host at a time");
    return command;
}

}  // namespace aismi::cli
