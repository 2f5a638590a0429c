// Drives an sdbus-c++ connection from a Boost.Asio io_context: waits on the sd-bus fd and
// timeout, and processes messages on the loop thread. sdbus-c++ 1.2 has no wake-up fd, so
// whoever sends from the loop thread (a late reply, a signal) calls kick() afterwards.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace sdbus {
class IConnection;
}

namespace aismi {

class BusPump {
public:
    BusPump(boost::asio::io_context& io, sdbus::IConnection& connection);
    ~BusPump();
    BusPump(const BusPump&) = delete;
    BusPump& operator=(const BusPump&) = delete;

    /// Processes whatever is pending and re-arms the waits.
    void kick();
    void stop();

private:
    void arm();

    sdbus::IConnection& connection_;
    boost::asio::posix::stream_descriptor fd_;
    boost::asio::steady_timer timer_;
    bool readArmed_ = false;
    bool writeArmed_ = false;
    bool stopped_ = false;
};

}  // namespace aismi
