// aismi-dbus-fuzz: a hostile D-Bus client for aismid. It finds every object, interface, method
// and property aismid serves (by introspection, again as objects come and go), calls each of
// them at least once, then makes random calls: arguments from the method's own signature with
// hostile values (boundaries, huge strings and arrays, odd text, unknown object paths, file
// descriptors of every kind), wrong signatures, unknown members and interfaces, property reads
// and writes, and calls to objects that were removed.
//
// What must hold, checked on every call: an answer comes within the timeout (no stall), every
// error has a name aismid or D-Bus defines (org.aismi.Error.* or a standard
// org.freedesktop.DBus.Error.* for a call the bus or sd-bus refuses), and aismid keeps
// answering a ping. Each failure is printed with the call that caused it; the exit code is 1
// if there was any. Run it as root and as an unprivileged uid (tests/integration/
// dbus_fuzz_test.cpp does both, with polkitd, and checks the unprivileged run changed nothing).
//
// Usage: aismi-dbus-fuzz [--calls N] [--seed S] [--timeout-ms T]  (the system bus, or
// DBUS_SYSTEM_BUS_ADDRESS)
#include <systemd/sd-bus.h>

#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr const char* kService = "org.aismi.Manager1";
constexpr const char* kRoot = "/org/aismi/Manager1";

struct Method {
    std::string interface, name, signature;  // signature: the in arguments, concatenated
};
struct Property {
    std::string interface, name, signature;
    bool writable = false;
};
struct Object {
    std::string path;
    std::vector<Method> methods;
    std::vector<Property> properties;
};

// --- Introspection XML: the few tags and attributes that matter, nothing more. ---

std::string attribute(const std::string& tag, const std::string& name) {
    const std::string key = " " + name + "=\"";
    const size_t at = tag.find(key);
    if (at == std::string::npos) return "";
    const size_t begin = at + key.size(), end = tag.find('"', begin);
    return end == std::string::npos ? "" : tag.substr(begin, end - begin);
}

// The object described by `xml`, and the names of its child nodes.
Object parseIntrospection(const std::string& path, const std::string& xml, std::vector<std::string>& children) {
    Object o{path, {}, {}};
    std::string interface;
    Method* method = nullptr;
    int depth = 0;  // <node> nesting: only the direct children are ours to follow
    for (size_t pos = 0; (pos = xml.find('<', pos)) != std::string::npos;) {
        const size_t end = xml.find('>', pos);
        if (end == std::string::npos) break;
        const std::string tag = xml.substr(pos, end - pos + 1);
        pos = end + 1;
        if (tag.rfind("<!", 0) == 0) continue;
        const bool closing = tag.rfind("</", 0) == 0, selfClosing = tag.size() > 2 && tag[tag.size() - 2] == '/';
        const std::string name = tag.substr(closing ? 2 : 1, tag.find_first_of(" />", closing ? 2 : 1) - (closing ? 2 : 1));
        if (name == "node") {
            if (closing) --depth;
            else {
                if (depth == 1 && !attribute(tag, "name").empty()) children.push_back(attribute(tag, "name"));
                if (!selfClosing) ++depth;
            }
        } else if (name == "interface" && !closing) {
            interface = attribute(tag, "name");
        } else if (name == "method" && !closing) {
            o.methods.push_back(Method{interface, attribute(tag, "name"), ""});
            method = selfClosing ? nullptr : &o.methods.back();
        } else if (name == "method" && closing) {
            method = nullptr;
        } else if (name == "signal" && !closing) {
            method = nullptr;  // a signal's args are not a method's
        } else if (name == "arg" && method && attribute(tag, "direction") != "out") {
            method->signature += attribute(tag, "type");
        } else if (name == "property" && !closing) {
            const std::string access = attribute(tag, "access");
            o.properties.push_back(Property{interface, attribute(tag, "name"), attribute(tag, "type"), access.find("write") != std::string::npos});
        }
    }
    return o;
}

// --- The fuzzer. ---

struct Failure {
    std::string call, what;
};

class Fuzzer {
public:
    Fuzzer(sd_bus* bus, uint64_t seed, uint64_t timeoutUs) : bus_(bus), rng_(seed), timeoutUs_(timeoutUs) {}

    void discover() {
        std::map<std::string, Object> found;
        std::vector<std::string> queue{kRoot};
        while (!queue.empty() && found.size() < 20000) {
            const std::string path = queue.back();
            queue.pop_back();
            std::string xml;
            if (!introspect(path, xml)) continue;
            std::vector<std::string> children;
            Object o = parseIntrospection(path, xml, children);
            for (const auto& c : children) queue.push_back(path + "/" + c);
            found[path] = std::move(o);
        }
        for (const auto& [path, o] : objects_)
            if (!found.count(path)) removed_.insert(path);
        objects_ = std::move(found);
        for (const auto& [path, o] : objects_) {
            removed_.erase(path);
            for (const auto& m : o.methods) known_.insert(m.interface + "." + m.name);
            for (const auto& p : o.properties) knownProperties_.insert(p.interface + "." + p.name);
        }
    }

    // Every method and property of every object kind once (one object of each kind: a card,
    // a VF, a job, the manager), then `calls` random calls.
    void run(unsigned calls) {
        std::set<std::string> kindsDone;
        for (const auto& [path, o] : std::map<std::string, Object>(objects_)) {
            const std::string kind = kindOf(path);
            if (!kindsDone.insert(kind).second) continue;
            for (const auto& m : o.methods) callMethod(path, m, m.signature);
            for (const auto& p : o.properties) {
                getProperty(path, p.interface, p.name);
                if (p.writable) setProperty(path, p.interface, p.name, p.signature);
            }
        }
        for (unsigned i = 0; i < calls && alive_; ++i) {
            if (i % 100 == 99) {
                discover();
                ping();
            }
            randomCall();
        }
        ping();
        if (alive_) settle();
    }

    // Waits (up to a minute) for the jobs the calls started to finish: whoever measures aismid
    // next measures it at rest.
    void settle() {
        for (int round = 0; round < 600; ++round) {
            discover();
            bool busy = false;
            for (const auto& [path, o] : objects_) {
                if (path.find("/job") == std::string::npos) continue;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                char* state = nullptr;
                if (sd_bus_get_property_string(bus_, kService, path.c_str(), "org.aismi.Job1", "State", &error, &state) >= 0)
                    busy = busy || !std::strcmp(state, "queued") || !std::strcmp(state, "running");
                std::free(state);
                sd_bus_error_free(&error);
            }
            if (!busy) return;
            ::usleep(100000);
        }
        fail("settle", "jobs still running a minute after the last call");
    }

    int report(unsigned calls, uint64_t seed) const {
        const auto covered = [](const std::set<std::string>& called, const std::set<std::string>& known) {
            return static_cast<size_t>(std::count_if(known.begin(), known.end(), [&](const std::string& k) { return called.count(k) > 0; }));
        };
        std::printf("aismi-dbus-fuzz: %u calls (seed %llu) as uid %u: %u answered, %u errors; %zu of %zu methods and %zu of %zu properties called; %zu failures\n",
                    calls_, static_cast<unsigned long long>(seed), static_cast<unsigned>(getuid()), replies_, errors_, covered(calledMethods_, known_), known_.size(),
                    covered(calledProperties_, knownProperties_), knownProperties_.size(), failures_.size());
        for (const auto& [name, n] : errorNames_) std::printf("  %-60s %u\n", name.c_str(), n);
        for (size_t i = 0; i < failures_.size() && i < 30; ++i) std::printf("FAIL: %s: %s\n", failures_[i].call.c_str(), failures_[i].what.c_str());
        (void)calls;
        return failures_.empty() && alive_ ? 0 : 1;
    }

private:
    static std::string kindOf(const std::string& path) {
        std::string kind;
        for (char c : path) kind += std::isdigit(static_cast<unsigned char>(c)) ? '#' : c;
        return kind;
    }

    bool introspect(const std::string& path, std::string& xml) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        const int r = sd_bus_call_method(bus_, kService, path.c_str(), "org.freedesktop.DBus.Introspectable", "Introspect", &error, &reply, "");
        bool ok = false;
        if (r >= 0) {
            const char* text = nullptr;
            if (sd_bus_message_read(reply, "s", &text) >= 0 && text) {
                xml = text;
                ok = true;
            }
        } else if (r == -ETIMEDOUT || !sd_bus_error_is_set(&error) || isGone(error.name)) {
            fail(path + " Introspect", r == -ETIMEDOUT ? "no answer in time" : std::string("aismid is gone: ") + (error.name ? error.name : strerror(-r)));
        }
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        return ok;
    }

    static bool isGone(const char* name) {
        return name && (!std::strcmp(name, SD_BUS_ERROR_SERVICE_UNKNOWN) || !std::strcmp(name, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
                        !std::strcmp(name, SD_BUS_ERROR_NO_REPLY) || !std::strcmp(name, SD_BUS_ERROR_DISCONNECTED));
    }
    // What a lost answer means: aismid gone, or this client's own connection dropped.
    static std::string goneReason(const std::string& name) {
        return name == SD_BUS_ERROR_DISCONNECTED ? "the bus dropped this client's connection" : "aismid is gone (" + name + ")";
    }

    // Errors a hostile call may get: aismid's own, and what sd-bus or the bus answer for a call
    // that does not fit (wrong arguments, no such object or member, a read-only property, a
    // message over the bus's limits, polkit's refusal).
    static bool allowedError(const std::string& name) {
        static const std::set<std::string> standard{SD_BUS_ERROR_INVALID_ARGS,     SD_BUS_ERROR_UNKNOWN_METHOD,   SD_BUS_ERROR_UNKNOWN_OBJECT,
                                                    SD_BUS_ERROR_UNKNOWN_INTERFACE, SD_BUS_ERROR_UNKNOWN_PROPERTY, SD_BUS_ERROR_PROPERTY_READ_ONLY,
                                                    SD_BUS_ERROR_ACCESS_DENIED,    SD_BUS_ERROR_LIMITS_EXCEEDED,  SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED};
        return name.rfind("org.aismi.Error.", 0) == 0 && name != "org.aismi.Error.Internal" ? true : standard.count(name) > 0;
    }

    void fail(const std::string& call, const std::string& what) {
        failures_.push_back(Failure{call, what});
        std::fprintf(stderr, "aismi-dbus-fuzz: FAIL %s: %s\n", call.c_str(), what.c_str());
    }

    // Sends `m` (consumed) and judges the answer.
    void send(sd_bus_message* m, const std::string& description) {
        ++calls_;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message* reply = nullptr;
        const int r = sd_bus_call(bus_, m, timeoutUs_, &error, &reply);
        if (r >= 0) {
            ++replies_;
        } else if (r == -ETIMEDOUT) {
            fail(description, "no answer within " + std::to_string(timeoutUs_ / 1000) + " ms");
        } else if (!sd_bus_error_is_set(&error)) {
            // Refused on our side before it was sent (a message sd-bus will not build or send:
            // over its size limit): not aismid's doing.
            ++errors_;
            ++errorNames_[std::string("(not sent: ") + strerror(-r) + ")"];
        } else {
            ++errors_;
            const std::string name = error.name;
            ++errorNames_[name];
            if (isGone(error.name)) {
                alive_ = false;
                fail(description, goneReason(name));
            } else if (!allowedError(name)) {
                fail(description, "error " + name + ": " + (error.message ? error.message : ""));
            }
        }
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
        sd_bus_error_free(&error);
    }

    void ping() {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        const int r = sd_bus_call_method(bus_, kService, kRoot, "org.freedesktop.DBus.Peer", "Ping", &error, nullptr, "");
        if (r < 0) {
            alive_ = false;
            fail("Ping", std::string("aismid does not answer: ") + (error.name ? error.name : strerror(-r)));
        }
        sd_bus_error_free(&error);
    }

    sd_bus_message* newCall(const std::string& path, const std::string& interface, const std::string& member) {
        sd_bus_message* m = nullptr;
        if (sd_bus_message_new_method_call(bus_, &m, kService, path.c_str(), interface.empty() ? nullptr : interface.c_str(), member.c_str()) < 0)
            throw std::runtime_error("cannot make a call to " + path + " " + member);
        return m;
    }

    void callMethod(const std::string& path, const Method& method, const std::string& signature) {
        calledMethods_.insert(method.interface + "." + method.name);
        sd_bus_message* m = newCall(path, method.interface, method.name);
        std::vector<int> fds;
        const bool built = appendArguments(m, signature, fds);
        const std::string description = path + " " + method.interface + "." + method.name + "(" + signature + ")";
        if (built) send(m, description);
        else sd_bus_message_unref(m);
        for (int fd : fds) ::close(fd);
    }

    void getProperty(const std::string& path, const std::string& interface, const std::string& name) {
        calledProperties_.insert(interface + "." + name);
        sd_bus_message* m = newCall(path, "org.freedesktop.DBus.Properties", "Get");
        sd_bus_message_append(m, "ss", interface.c_str(), name.c_str());
        send(m, path + " Get " + interface + "." + name);
    }

    void setProperty(const std::string& path, const std::string& interface, const std::string& name, const std::string& signature) {
        calledProperties_.insert(interface + "." + name);
        sd_bus_message* m = newCall(path, "org.freedesktop.DBus.Properties", "Set");
        sd_bus_message_append(m, "ss", interface.c_str(), name.c_str());
        std::vector<int> fds;
        const std::string inner = signature.empty() ? "s" : signature;
        const bool built = sd_bus_message_open_container(m, 'v', inner.c_str()) >= 0 && appendArguments(m, inner, fds) && sd_bus_message_close_container(m) >= 0;
        if (built) send(m, path + " Set " + interface + "." + name + " (" + inner + ")");
        else sd_bus_message_unref(m);
        for (int fd : fds) ::close(fd);
    }

    void randomCall() {
        if (objects_.empty()) return;
        auto it = objects_.begin();
        std::advance(it, pick(objects_.size()));
        const Object& o = it->second;
        const unsigned what = pick(100);
        if (what < 55 && !o.methods.empty()) {
            callMethod(o.path, o.methods[pick(o.methods.size())], o.methods[pick(o.methods.size())].signature);  // the signature of a sibling, at times
        } else if (what < 70 && !o.methods.empty()) {
            const Method& m = o.methods[pick(o.methods.size())];
            callMethod(o.path, m, pick(3) ? m.signature : randomSignature(2));
        } else if (what < 80 && !o.properties.empty()) {
            const Property& p = o.properties[pick(o.properties.size())];
            if (pick(2)) getProperty(o.path, p.interface, p.name);
            else setProperty(o.path, p.interface, p.name, pick(2) ? p.signature : randomSignature(0));
        } else if (what < 85) {
            sd_bus_message* m = newCall(o.path, "org.freedesktop.DBus.Properties", "GetAll");
            sd_bus_message_append(m, "s", pick(4) ? interfaceOf(o).c_str() : randomText().c_str());
            send(m, o.path + " GetAll");
        } else if (what < 92) {
            // A member or interface that does not exist, a path that never did or no longer does.
            std::string path = o.path;
            if (pick(2) && !removed_.empty()) {
                auto r = removed_.begin();
                std::advance(r, pick(removed_.size()));
                path = *r;
            } else if (pick(2)) {
                path = std::string(kRoot) + "/card" + std::to_string(pick(1000)) + (pick(2) ? "/vf" + std::to_string(pick(5000)) : "");
            }
            Method m{pick(2) ? interfaceOf(o) : "org.aismi.Nope1", pick(2) && !o.methods.empty() ? o.methods[pick(o.methods.size())].name : "NoSuchMethod", ""};
            callMethod(path, m, randomSignature(3));
        } else {
            sd_bus_message* m = newCall(kRoot, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
            send(m, "GetManagedObjects");
        }
    }

    static std::string interfaceOf(const Object& o) {
        for (const auto& m : o.methods)
            if (m.interface.rfind("org.aismi.", 0) == 0) return m.interface;
        return o.properties.empty() ? "org.aismi.Manager1" : o.properties.front().interface;
    }

    unsigned pick(size_t n) { return n ? static_cast<unsigned>(rng_() % n) : 0; }

    // --- values ---

    std::string randomSignature(unsigned maxTypes) {
        static const char* kTypes[] = {"y", "b", "n", "q", "i", "u", "x", "t", "d", "s", "o", "g", "h", "as", "au", "a{sv}", "v", "(us)", "ay"};
        std::string s;
        const unsigned n = pick(maxTypes + 1);
        for (unsigned i = 0; i < n; ++i) s += kTypes[pick(std::size(kTypes))];
        return s;
    }

    // Words aismid's methods understand, so that random calls also get past the first check.
    std::string word() {
        static const char* kWords[] = {"now", "idle", "never", "vfio-pci", "host", "kubelet", "acme", "tenant1", "quarter", "half", "full", "eighth",
                                       "2xquarter", "4xeighth,1xhalf", "web1", "0", "1", "0:0", "0:1", "1:3", "0000:3b:00.0", "3b:00.1", "AIS24110000",
                                       "force", "dry-run", "activate", "allow-older", "tenant", "profile", "reason", "domain", "max-vfs", "compute",
                                       "memory", "auto-reset", "auto-card-reset", "reset", "health", "firmware", "Index", "State", "Health",
                                       "org.aismi.Card1", "org.aismi.VirtualFunction1", "org.aismi.Manager1", "org.aismi.Job1", "10m ago", "2.0"};
        return kWords[pick(std::size(kWords))];
    }

    std::string randomText() {
        if (hugeArray_) return pick(2) ? word() : std::to_string(pick(1000));
        switch (pick(10)) {
        case 0: return "";
        case 1: {  // huge, within what is left of the message's budget
            const size_t n = pick(2) ? 70000 : 1 << 20;
            if (n > budget_) return word();
            budget_ -= n;
            return std::string(n, static_cast<char>('a' + pick(26)));
        }
        case 2: return "../../../etc/shadow";
        case 3: return "%s%n%x\\\"'<>&;|`$(id)";
        case 4: return "line\nbreak\ttab\x01\x7f";
        case 5: return "\xc3\xa9\xe2\x82\xac\xf0\x9f\x92\xa5";  // valid UTF-8, not ASCII
        case 6: return std::to_string(static_cast<int64_t>(rng_()));
        case 7: {
            std::string s(pick(40), ' ');
            for (char& c : s) c = static_cast<char>(32 + pick(95));
            return s;
        }
        default: return word();
        }
    }

    std::string randomPath() {
        if (pick(2) && !objects_.empty()) {
            auto it = objects_.begin();
            std::advance(it, pick(objects_.size()));
            return it->first;
        }
        return pick(2) ? "/" : std::string(kRoot) + "/job" + std::to_string(pick(100000));
    }

    template <class T>
    T boundary() {
        switch (pick(6)) {
        case 0: return 0;
        case 1: return 1;
        case 2: return std::numeric_limits<T>::max();
        case 3: return std::numeric_limits<T>::min();
        case 4: return static_cast<T>(pick(300));
        default: return static_cast<T>(rng_());
        }
    }

    // A file descriptor of some kind: a regular file with random bytes, /dev/null, a pipe.
    int randomFd(std::vector<int>& fds) {
        int fd = -1;
        switch (pick(3)) {
        case 0: {
            fd = ::memfd_create("aismi-dbus-fuzz", MFD_CLOEXEC);
            std::string bytes(pick(4096), '\0');
            for (char& c : bytes) c = static_cast<char>(rng_());
            if (fd >= 0 && !bytes.empty() && ::write(fd, bytes.data(), bytes.size()) < 0) {}
            break;
        }
        case 1: fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC); break;
        default: {
            int p[2];
            if (::pipe2(p, O_CLOEXEC) == 0) {
                fds.push_back(p[1]);  // the write end stays open: a reader would wait forever
                fd = p[0];
            }
        }
        }
        if (fd >= 0) fds.push_back(fd);
        return fd;
    }

    // The end of the single complete type starting at `sig[pos]`.
    static size_t typeEnd(const std::string& sig, size_t pos) {
        if (pos >= sig.size()) return pos;
        if (sig[pos] == 'a') return typeEnd(sig, pos + 1);
        if (sig[pos] == '(' || sig[pos] == '{') {
            const char close = sig[pos] == '(' ? ')' : '}';
            size_t p = pos + 1;
            while (p < sig.size() && sig[p] != close) p = typeEnd(sig, p);
            return p + 1;
        }
        return pos + 1;
    }

    bool appendArguments(sd_bus_message* m, const std::string& sig, std::vector<int>& fds) {
        budget_ = kMessageBudget;
        hugeArray_ = false;
        for (size_t pos = 0; pos < sig.size();) {
            const size_t end = typeEnd(sig, pos);
            if (!appendValue(m, sig.substr(pos, end - pos), fds, 0)) return false;
            pos = end;
        }
        return true;
    }

    bool appendValue(sd_bus_message* m, const std::string& type, std::vector<int>& fds, unsigned depth) {
        const char c = type[0];
        switch (c) {
        case 'y': { uint8_t v = boundary<uint8_t>(); return sd_bus_message_append_basic(m, c, &v) >= 0; }
        case 'b': { int v = static_cast<int>(pick(2)); return sd_bus_message_append_basic(m, c, &v) >= 0; }
        case 'n': { int16_t v = boundary<int16_t>(); return sd_bus_message_append_basic(m, c, &v) >= 0; }
        case 'q': { uint16_t v = boundary<uint16_t>(); return sd_bus_message_append_basic(m, c, &v) >= 0; }
        case 'i': { int32_t v = boundary<int32_t>(); return sd_bus_message_append_basic(m, c, &v) >= 0; }
        case 'u': { uint32_t v = boundary<uint32_t>(); return sd_bus_message_append_basic(m, c, &v) >= 0; }
        case 'x': { int64_t v = boundary<int64_t>(); return sd_bus_message_append_basic(m, c, &v) >= 0; }
        case 't': { uint64_t v = boundary<uint64_t>(); return sd_bus_message_append_basic(m, c, &v) >= 0; }
        case 'd': {
            static const double kDoubles[] = {0.0, -1.0, 0.5, 1.0, 2.0, 4.0, 1e308, -1e308, std::nan(""), std::numeric_limits<double>::infinity(), 1e-300};
            double v = kDoubles[pick(std::size(kDoubles))];
            return sd_bus_message_append_basic(m, c, &v) >= 0;
        }
        case 's': { const std::string s = randomText(); return sd_bus_message_append_basic(m, c, s.c_str()) >= 0; }
        case 'o': { const std::string s = randomPath(); return sd_bus_message_append_basic(m, c, s.c_str()) >= 0; }
        case 'g': { const std::string s = randomSignature(3); return sd_bus_message_append_basic(m, c, s.c_str()) >= 0; }
        case 'h': {
            const int fd = randomFd(fds);
            return fd >= 0 && sd_bus_message_append_basic(m, c, &fd) >= 0;
        }
        case 'v': {
            const std::string inner = depth < 3 ? randomSignature(1) : "s";
            const std::string one = inner.empty() ? "s" : inner.substr(0, typeEnd(inner, 0));
            return sd_bus_message_open_container(m, 'v', one.c_str()) >= 0 && appendValue(m, one, fds, depth + 1) && sd_bus_message_close_container(m) >= 0;
        }
        case 'a': {
            const std::string element = type.substr(1);
            if (sd_bus_message_open_container(m, 'a', element.c_str()) < 0) return false;
            unsigned n = pick(4) ? pick(5) : 0;
            const bool basic = element.size() == 1 && element != "v" && element != "h";
            if (basic && depth == 0 && pick(8) == 0 && budget_ > 2 * kHugeArray) {  // huge
                n = kHugeArray / 2 + pick(kHugeArray / 2);
                budget_ -= 2 * kHugeArray;  // its elements are short: at most a word each
                hugeArray_ = true;
            }
            for (unsigned i = 0; i < n; ++i) {
                if (element[0] == '{') {
                    // A dictionary entry: keys from aismid's option names most of the time.
                    const std::string key = element.substr(1, typeEnd(element, 1) - 1), value = element.substr(1 + key.size(), element.size() - key.size() - 2);
                    if (sd_bus_message_open_container(m, 'e', (key + value).c_str()) < 0) return false;
                    if (key == "s") {
                        const std::string k = pick(4) ? word() : randomText();
                        if (sd_bus_message_append_basic(m, 's', k.c_str()) < 0) return false;
                    } else if (!appendValue(m, key, fds, depth + 1)) {
                        return false;
                    }
                    if (!appendValue(m, value, fds, depth + 1) || sd_bus_message_close_container(m) < 0) return false;
                } else if (!appendValue(m, element, fds, depth + 1)) {
                    return false;
                }
            }
            hugeArray_ = false;
            return sd_bus_message_close_container(m) >= 0;
        }
        case '(': {
            const std::string contents = type.substr(1, type.size() - 2);
            if (sd_bus_message_open_container(m, 'r', contents.c_str()) < 0) return false;
            for (size_t pos = 0; pos < contents.size();) {
                const size_t end = typeEnd(contents, pos);
                if (!appendValue(m, contents.substr(pos, end - pos), fds, depth + 1)) return false;
                pos = end;
            }
            return sd_bus_message_close_container(m) >= 0;
        }
        default: return false;
        }
    }

    // A message stays well under the bus's limit (dbus-daemon disconnects a client that sends
    // more than its max_message_size): huge strings and arrays come out of this budget.
    static constexpr size_t kMessageBudget = size_t{24} << 20;
    static constexpr unsigned kHugeArray = 100000;
    size_t budget_ = kMessageBudget;
    bool hugeArray_ = false;
    sd_bus* bus_;
    std::mt19937_64 rng_;
    uint64_t timeoutUs_;
    std::map<std::string, Object> objects_;
    std::set<std::string> removed_;
    std::set<std::string> known_, knownProperties_, calledMethods_, calledProperties_;
    std::map<std::string, unsigned> errorNames_;
    std::vector<Failure> failures_;
    unsigned calls_ = 0, replies_ = 0, errors_ = 0;
    bool alive_ = true;
};

unsigned long long numberArg(const char* option, const char* text, unsigned long long max) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (!*text || *end || errno || v > max || text[0] == '-') throw std::invalid_argument(std::string(option) + " takes a whole number up to " + std::to_string(max) + ", not '" + text + "'");
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        unsigned calls = 1000;
        uint64_t seed = std::random_device{}();
        uint64_t timeoutMs = 30000;
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (i + 1 >= argc && (a == "--calls" || a == "--seed" || a == "--timeout-ms")) throw std::invalid_argument(a + " needs a value");
            if (a == "--calls") calls = static_cast<unsigned>(numberArg("--calls", argv[++i], 10000000));
            else if (a == "--seed") seed = numberArg("--seed", argv[++i], std::numeric_limits<uint64_t>::max());
            else if (a == "--timeout-ms") timeoutMs = numberArg("--timeout-ms", argv[++i], 3600000);
            else if (a == "-h" || a == "--help") {
                std::printf("Usage: aismi-dbus-fuzz [--calls N] [--seed S] [--timeout-ms T]\nCalls every method and property aismid serves, then N random hostile calls (default 1000).\n");
                return 0;
            } else throw std::invalid_argument("unknown argument '" + a + "' (aismi-dbus-fuzz --help)");
        }
        sd_bus* bus = nullptr;
        if (int r = sd_bus_open_system(&bus); r < 0) throw std::runtime_error(std::string("cannot connect to the system bus: ") + strerror(-r));
        Fuzzer fuzzer(bus, seed, timeoutMs * 1000);
        fuzzer.discover();
        fuzzer.run(calls);
        const int rc = fuzzer.report(calls, seed);
        sd_bus_flush_close_unref(bus);
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "aismi-dbus-fuzz: %s\n", e.what());
        return 2;
    }
}
