#include "app.hpp"

#include "command_line.hpp"
#include "json.hpp"

#include <aismi/text.hpp>

#include <ostream>
#include <sstream>

namespace aismi::cli {
namespace {

int fail(std::ostream& err, const Error& e) {
    // stderr also carries the progress bars (\r, erase to end of line), so it is not filtered
    // whole as stdout is (terminal_safe.hpp): a message is escaped here.
    err << "aismi: " << text::escapeControl(e.message) << "\n";
    return errcInfo(e.code).exitCode;
}

// The command against aismid on `host` (this machine's when none); what it printed must have
// reached stdout.
int runOn(const Command& command, const std::optional<std::string>& host, std::ostream& out, std::ostream& err) {
    Session session(host, out, err);
    auto done = command.run(session);
    if (!done) return fail(err, done.error());
    if (auto flushed = session.flushed(); !flushed) return fail(err, flushed.error());
    return 0;
}

// Every "aismi: ..." line of `errors` as "aismi: HOST: ...": which host said it.
std::string namingHost(const std::string& errors, const std::string& host) {
    std::istringstream lines(errors);
    std::string out;
    for (std::string line; std::getline(lines, line);)
        out += (line.rfind("aismi: ", 0) == 0 ? "aismi: " + host + ": " + line.substr(7) : line) + "\n";
    return out;
}

// A command that reads once, against several hosts: CSV rows start with the host (one header),
// JSON documents are gathered in one object by host, anything else comes under "# HOST". A
// host that fails says so and the others still answer; the exit code is the first failure's.
int runOnHosts(const Command& command, std::ostream& out, std::ostream& err) {
    int rc = 0;
    bool headerDone = false, firstJson = true;
    if (command.output == Output::Json) out << "{";
    for (const auto& host : command.hosts) {
        std::ostringstream o, e;
        const int code = runOn(command, host, o, e);
        err << text::escapeControl(namingHost(e.str(), host), true);
        if (code) {
            rc = rc ? rc : code;
            continue;
        }
        std::string text = o.str();
        if (command.output == Output::Json) {
            while (!text.empty() && text.back() == '\n') text.pop_back();
            out << (firstJson ? "\n " : ",\n ") << json::quote(host) << ": " << text;
            firstJson = false;
        } else if (command.output == Output::Csv) {
            std::istringstream lines(text);
            bool first = true;
            for (std::string line; std::getline(lines, line); first = false) {
                if (first && command.csvHeader) {
                    if (!headerDone) out << "host, " << line << "\n";
                    headerDone = true;
                    continue;
                }
                out << host << ", " << line << "\n";
            }
        } else {
            out << "# " << host << "\n" << text;
        }
    }
    if (command.output == Output::Json) out << (firstJson ? "}\n" : "\n}\n");
    out.flush();
    const int written = out ? 0 : fail(err, makeError(Errc::IoError, "cannot write to standard output"));
    return rc ? rc : written;
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    auto command = parseCli(args);
    if (!command) return fail(err, command.error());
    if (command->hosts.empty() || command->local) return runOn(*command, std::nullopt, out, err);
    if (command->hosts.size() > 1) return runOnHosts(*command, out, err);
    std::ostringstream errors;  // its lines name the host
    const int rc = runOn(*command, command->hosts.front(), out, errors);
    err << text::escapeControl(namingHost(errors.str(), command->hosts.front()), true);
    return rc;
}

}  // namespace aismi::cli
