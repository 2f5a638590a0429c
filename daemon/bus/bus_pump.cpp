#include "bus_pump.hpp"

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IConnection.h>

#include <boost/asio/post.hpp>

#include <poll.h>

namespace aismi {

BusPump::BusPump(boost::asio::io_context& io, sdbus::IConnection& connection, std::function<void(const std::string&)> onLost)
    : io_(io), connection_(connection), onLost_(std::move(onLost)), fd_(io, connection.getEventLoopPollData().fd), timer_(io) {
    kick();
}

BusPump::~BusPump() {
    stop();
    // The fd belongs to sd-bus: release it so Asio does not close it.
    (void)fd_.release();
}

void BusPump::stop() {
    stopped_ = true;
    timer_.cancel();
    fd_.cancel();
}

void BusPump::kick() {
    if (stopped_ || kickQueued_) return;
    kickQueued_ = true;
    boost::asio::post(io_, [this] {
        kickQueued_ = false;
        process();
    });
}

void BusPump::process() {
    if (stopped_) return;
    try {
        while (connection_.processPendingRequest()) {
        }
        arm();
    } catch (const sdbus::Error& e) {
        // The bus went away (dbus-daemon stopped or restarted): nothing more can be served.
        stop();
        if (onLost_) onLost_(e.getMessage());
    }
}

void BusPump::arm() {
    const auto poll = connection_.getEventLoopPollData();
    if (!readArmed_) {
        readArmed_ = true;
        fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
            readArmed_ = false;
            if (!ec) process();
        });
    }
    if ((poll.events & POLLOUT) && !writeArmed_) {
        writeArmed_ = true;
        fd_.async_wait(boost::asio::posix::stream_descriptor::wait_write, [this](const boost::system::error_code& ec) {
            writeArmed_ = false;
            if (!ec) process();
        });
    }
    // sd-bus wants to run again at this time (method call timeouts, deferred work).
    if (auto rel = poll.getRelativeTimeout()) {
        timer_.expires_after(*rel);
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) process();
        });
    } else {
        timer_.cancel();
    }
}

}  // namespace aismi
