// aismi's commands. Each file under cli/commands/ contributes rows to one table: a row names a
// command's words and the options it takes, and parses a command line into a Command that owns
// the command's own request and runs it. command_line.cpp finds the row; app.cpp runs what it
// parsed against one aismid, or several hosts.
#pragma once

#include <aismi/error.hpp>

#include <any>
#include <functional>
#include <ostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace boost::program_options {
class options_description;
}  // namespace boost::program_options

namespace aismi::client {
class DaemonClient;
}  // namespace aismi::client

namespace aismi::cli {

using client::DaemonClient;

/// What was on the command line: the command words, the words after them (a VF, a tenant, a
/// layout), and the options wherever they stood.
struct CommandLine {
    std::vector<std::string> words;
    std::vector<std::string> arguments;
    std::map<std::string, std::string> values;  // each option given, by its long name ("" for a flag)
    bool has(const std::string& name) const { return values.count(name) > 0; }
    const std::string& text(const std::string& name) const { return values.at(name); }
};

/// One run of a command against one aismid: this machine's, or one -H host's.
class Session {
public:
    Session(std::optional<std::string> host, std::ostream& out, std::ostream& err);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    /// Connected at its first use; the same client afterwards.
    Result<DaemonClient*> client();
    /// What was printed reached stdout: a full disk or a closed pipe is an error.
    Result<void> flushed();
    std::ostream& out;
    std::ostream& err;

private:
    std::optional<std::string> host_;
    std::unique_ptr<DaemonClient> client_;
};

/// How the answers of several -H hosts are put together.
enum class Output {
    Text,  // each under "# HOST"
    Json,  // one object by host
    Csv,   // rows prefixed by the host, one header
};

/// A parsed command line, ready to run.
struct Command {
    std::string name;  // the command's words ("vf enable"); "" for the queries without a command word
    std::any request;  // the command's own request type (see as())
    std::function<Result<void>(Session&)> run;
    bool readsOnce = false;  // only reads and ends by itself: may go to several hosts at once
    bool local = false;      // needs no aismid and goes to no host (--help)
    Output output = Output::Text;
    bool csvHeader = true;           // Output::Csv: the first line is the header
    std::string localOnly;           // why it goes to this machine's aismid only ("": it may go to a -H host)
    std::vector<std::string> hosts;  // -H, in order, each once

    /// The request, if it is an R.
    template <class R>
    const R* as() const {
        return std::any_cast<R>(&request);
    }
};

/// A Command of `request` and the function that runs it.
template <class R>
Command makeCommand(std::string name, R request, Result<void> (*run)(const R&, Session&)) {
    Command c;
    c.name = std::move(name);
    c.request = request;
    c.run = [request = std::move(request), run](Session& s) { return run(request, s); };
    return c;
}

/// A Command of `request` whose answer is the text `text` makes of it with aismid: printed
/// when it succeeds.
template <class R>
Command makeCommand(std::string name, R request, Result<std::string> (*text)(DaemonClient&, const R&)) {
    Command c;
    c.name = std::move(name);
    c.request = request;
    c.run = [request = std::move(request), text](Session& s) -> Result<void> {
        auto client = s.client();
        if (!client) return std::move(client).error();
        auto shown = text(**client, request);
        if (!shown) return std::move(shown).error();
        s.out << *shown;
        return {};
    };
    return c;
}

/// `c` as a command that only reads and ends by itself (so it may go to several -H hosts at
/// once; `once` false for one that repeats or follows), its answer JSON when `json`.
inline Command reading(Command c, bool json, bool once = true) {
    c.readsOnce = once;
    if (json) c.output = Output::Json;
    return c;
}

/// A row of the table: the command's words, the options it takes besides -h and -H, its parser,
/// and whether words may follow its own (a VF, a tenant; the parser checks how many).
struct Verb {
    std::vector<std::string> words;
    std::set<std::string> options;
    Result<Command> (*parse)(const CommandLine&);
    bool takesArguments = false;
};

/// A first word and its help ("aismi vf --help"): the usage text, the options it lists, what it
/// needs after the first word, and its line in aismi --help.
struct CommandGroup {
    const char* word;
    const char* usage;
    std::string (*options)();
    const char* needs;
    const char* summary;
};

/// What one file of commands contributes: its rows, its first words, and the options it
/// defines (each option is defined once, by the file that owns it; other rows may take it).
struct CommandSet {
    std::vector<Verb> verbs;
    std::vector<CommandGroup> groups;
    void (*addOptions)(boost::program_options::options_description&) = nullptr;
};

}  // namespace aismi::cli
