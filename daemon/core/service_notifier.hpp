// What aismid tells systemd (sd_notify's protocol: READY=1, RELOADING=1, STOPPING=1, STATUS=,
// WATCHDOG=1), without ever blocking the loop. sd_notify(3) sends on a blocking socket, and a
// datagram socket whose reader lags (its queue holds net.unix.max_dgram_qlen messages, 10 by
// default) blocks the sender until the reader catches up: aismid's loop stopped answering
// after a handful of reloads whose notifications nobody read. Here each message goes out
// non-blocking; when the queue is full it waits, in order, and is retried from a timer.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <string>

namespace aismi {

class ServiceNotifier {
public:
    /// Sends to $NOTIFY_SOCKET (a path, or @ for the abstract namespace); unset: nothing is sent.
    explicit ServiceNotifier(boost::asio::io_context& io);
    ~ServiceNotifier();
    ServiceNotifier(const ServiceNotifier&) = delete;
    ServiceNotifier& operator=(const ServiceNotifier&) = delete;

    /// Sends `state` now, or as soon as the reader takes it (after what waits already).
    /// WATCHDOG=1 is not queued twice.
    void send(std::string state);
    /// How many messages wait for the reader.
    size_t waiting() const { return queue_.size(); }
    /// At exit, once the loop no longer runs: tries what waits for up to `limit`, then drops it.
    void flush(std::chrono::milliseconds limit);

private:
    /// Sends what waits, in order, until the reader's queue is full again.
    void drain();
    /// Sends (or drops, when nobody listens) the first message waiting; false: the queue is full.
    bool sendFront();
    int fd_ = -1;
    boost::asio::steady_timer retry_;
    bool retrying_ = false;
    std::deque<std::string> queue_;
};

}  // namespace aismi
