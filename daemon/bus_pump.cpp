#include "bus_pump.hpp"

#include <sdbus-c++/IConnection.h>

#include <boost/asio/post.hpp>

#include <poll.h>

namespace aismi {

BusPump::BusPump(boost::asio::io_context& io, sdbus::IConnection& connection)
    : connection_(connection), fd_(io, connection.getEventLoopPollData().fd), timer_(io) {
    boost::asio::post(io, [this] { kick(); });
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
    if (stopped_) return;
    while (connection_.processPendingRequest()) {
    }
    arm();
}

void BusPump::arm() {
    const auto poll = connection_.getEventLoopPollData();
    if (!readArmed_) {
        readArmed_ = true;
        fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
            readArmed_ = false;
            if (!ec) kick();
        });
    }
    if ((poll.events & POLLOUT) && !writeArmed_) {
        writeArmed_ = true;
        fd_.async_wait(boost::asio::posix::stream_descriptor::wait_write, [this](const boost::system::error_code& ec) {
            writeArmed_ = false;
            if (!ec) kick();
        });
    }
    // sd-bus wants to run again at this time (method call timeouts, deferred work).
    if (auto rel = poll.getRelativeTimeout()) {
        timer_.expires_after(*rel);
        timer_.async_wait([this](const boost::system::error_code& ec) {
            if (!ec) kick();
        });
    } else {
        timer_.cancel();
    }
}

}  // namespace aismi
