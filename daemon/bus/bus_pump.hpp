// Drives an sdbus-c++ connection from a Boost.Asio io_context: waits on the sd-bus fd and
// timeout, and processes messages on the loop thread. sdbus-c++ 1.2 has no wake-up fd, so
// whoever sends from the loop thread (a late reply, a signal) calls kick() afterwards; kick()
// only schedules processing, so it is safe inside a handler (sd_bus_process is not
// reentrant). If the bus goes away, `onLost` runs once and the pump stops.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <string>

namespace sdbus {
class IConnection;
}

namespace aismi {

class BusPump {
public:
    BusPump(boost::asio::io_context& io, sdbus::IConnection& connection, std::function<void(const std::string&)> onLost);
    ~BusPump();
    BusPump(const BusPump&) = delete;
    BusPump& operator=(const BusPump&) = delete;

    /// Processes whatever is pending (soon, on the loop thread) and re-arms the waits.
    void kick();
    void stop();

private:
    void process();
    void arm();

    boost::asio::io_context& io_;
    sdbus::IConnection& connection_;
    std::function<void(const std::string&)> onLost_;
    boost::asio::posix::stream_descriptor fd_;
    boost::asio::steady_timer timer_;
    bool readArmed_ = false;
    bool writeArmed_ = false;
    bool kickQueued_ = false;
    bool stopped_ = false;
};

}  // namespace aismi
