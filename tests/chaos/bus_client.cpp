#include "bus_client.hpp"

#include <systemd/sd-bus.h>

#include <cstring>
#include <stdexcept>

namespace aismi::chaos {
namespace {

constexpr const char* kService = "org.aismi.Manager1";
const auto kStart = std::chrono::steady_clock::now();

// One number of D-Bus type `type` read as T, as text.
template <class T>
bool readNumber(sd_bus_message* m, char type, std::string& out) {
    T v{};
    if (sd_bus_message_read_basic(m, type, &v) <= 0) return false;
    out = std::to_string(v);
    return true;
}

// One value of a basic type, as text.
bool readBasic(sd_bus_message* m, char type, std::string& out) {
    switch (type) {
    case 's':
    case 'o': {
        const char* s = nullptr;
        if (sd_bus_message_read_basic(m, type, &s) <= 0) return false;
        out = s ? s : "";
        return true;
    }
    case 'b': {
        int b = 0;
        if (sd_bus_message_read_basic(m, 'b', &b) <= 0) return false;
        out = b ? "true" : "false";
        return true;
    }
    case 'u': return readNumber<uint32_t>(m, type, out);
    case 't': return readNumber<uint64_t>(m, type, out);
    case 'i': return readNumber<int32_t>(m, type, out);
    case 'd': return readNumber<double>(m, type, out);
    default: return false;
    }
}

}  // namespace

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - kStart).count(); }

bool Reply::lost() const {
    return timedOut || error == "org.freedesktop.DBus.Error.NoReply" || error == "(connection lost)";
}

bool Reply::absent() const {
    return error == "org.freedesktop.DBus.Error.ServiceUnknown" || error == "org.freedesktop.DBus.Error.NameHasNoOwner";
}

BusClient::BusClient(const std::string& address) {
    int r = sd_bus_new(&bus_);
    if (r >= 0) r = sd_bus_set_address(bus_, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(bus_, 1);
    if (r >= 0) r = sd_bus_start(bus_);
    if (r < 0) {
        sd_bus_unref(bus_);
        throw std::runtime_error("cannot connect to the bus at " + address + ": " + std::strerror(-r));
    }
}

BusClient::~BusClient() { sd_bus_flush_close_unref(bus_); }

Reply BusClient::call(const std::string& path, const char* interface, const char* member, const Append& append, uint64_t timeoutUs) {
    Reply out;
    sd_bus_message* m = nullptr;
    if (sd_bus_message_new_method_call(bus_, &m, kService, path.c_str(), interface, member) < 0) throw std::runtime_error("cannot build a call");
    if (append) append(m);
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    out.invoked = now();
    const int r = sd_bus_call(bus_, m, timeoutUs, &error, &reply);
    out.completed = now();
    sd_bus_message_unref(m);
    if (r < 0) {
        // sd-bus says ETIMEDOUT for "NoReply" too (the peer left without answering): only the
        // clock tells a call that waited out its timeout.
        if (r == -ETIMEDOUT && out.completed - out.invoked >= static_cast<double>(timeoutUs) / 1e6 - 0.5) out.timedOut = true;
        out.error = error.name ? error.name : (r == -ECONNRESET || r == -ENOTCONN) ? "(connection lost)" : std::string("(") + std::strerror(-r) + ")";
        out.message = error.message ? error.message : "";
    } else {
        out.body.reset(reply, [](sd_bus_message* p) { sd_bus_message_unref(p); });
    }
    sd_bus_error_free(&error);
    return out;
}

std::map<std::string, std::vector<std::string>> BusClient::query(const char* interface, const std::vector<std::string>& properties, Reply* replyOut) {
    Reply reply = call("/org/aismi/Manager1", "org.aismi.Manager1", "Query", [&](sd_bus_message* m) {
        sd_bus_message_append(m, "s", interface);
        sd_bus_message_open_container(m, 'a', "s");
        for (const auto& p : properties) sd_bus_message_append(m, "s", p.c_str());
        sd_bus_message_close_container(m);
    });
    std::map<std::string, std::vector<std::string>> columns;
    if (reply.ok()) {
        sd_bus_message* m = reply.body.get();
        if (sd_bus_message_skip(m, "ao") >= 0 && sd_bus_message_enter_container(m, 'a', "{sv}") > 0) {
            while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char* name = nullptr;
                sd_bus_message_read(m, "s", &name);
                char type = 0;
                const char* contents = nullptr;
                if (sd_bus_message_peek_type(m, &type, &contents) > 0 && contents && contents[0] == 'a' &&
                    sd_bus_message_enter_container(m, 'v', contents) > 0) {
                    const char element = contents[1];
                    auto& column = columns[name ? name : ""];
                    if (sd_bus_message_enter_container(m, 'a', contents + 1) > 0) {
                        for (std::string value; readBasic(m, element, value);) column.push_back(value);
                        sd_bus_message_exit_container(m);
                    }
                    sd_bus_message_exit_container(m);
                } else {
                    sd_bus_message_skip(m, "v");
                }
                sd_bus_message_exit_container(m);
            }
        }
    }
    if (replyOut) *replyOut = reply;
    return columns;
}

std::string cardPath(unsigned card) { return "/org/aismi/Manager1/card" + std::to_string(card); }
std::string vfPath(unsigned card, unsigned vf) { return cardPath(card) + "/vf" + std::to_string(vf); }

}  // namespace aismi::chaos
