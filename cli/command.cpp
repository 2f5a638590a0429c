#include "command.hpp"

#include "client_api.hpp"

#include <ostream>

namespace aismi::cli {

Session::Session(std::optional<std::string> host, std::ostream& out_, std::ostream& err_) : out(out_), err(err_), host_(std::move(host)) {}

Session::~Session() = default;

Result<DaemonClient*> Session::client() {
    if (!client_) {
        auto connected = DaemonClient::connect(host_);
        if (!connected) return std::move(connected).error();
        client_ = std::move(*connected);
    }
    return client_.get();
}

Result<void> Session::flushed() {
    out.flush();
    if (out) return {};
    return makeError(Errc::IoError, "cannot write to standard output");
}

}  // namespace aismi::cli
