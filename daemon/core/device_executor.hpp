// Where blocking device I/O runs: a small worker pool with one strand per card, so one card
// is never touched by two threads and a slow card never delays another. Results come back
// on the loop thread. Call from the loop thread only.
#pragma once

#include <aismi/error.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace boost::asio {
class io_context;
}

namespace aismi {

class DeviceExecutor {
public:
    DeviceExecutor(boost::asio::io_context& loop, unsigned threads);
    ~DeviceExecutor();
    DeviceExecutor(const DeviceExecutor&) = delete;
    DeviceExecutor& operator=(const DeviceExecutor&) = delete;

    /// Runs `work` on the strand of `key` (a card's key, or any other name of a device-wide
    /// activity), then `then` with its result on the loop thread. An exception thrown by
    /// `work` becomes an Internal error: nothing thrown on a worker may end the daemon.
    template <class T>
    void runOnCard(const std::string& key, std::function<Result<T>()> work, std::function<void(Result<T>)> then) {
        auto result = std::make_shared<std::optional<Result<T>>>();
        dispatch(
            key,
            [work = std::move(work), result, key] {
                try {
                    result->emplace(work());
                } catch (const std::exception& e) {
                    result->emplace(makeError(Errc::Internal, key + ": unexpected failure: " + e.what()));
                } catch (...) {
                    result->emplace(makeError(Errc::Internal, key + ": unexpected failure"));
                }
            },
            [then = std::move(then), result] { then(std::move(**result)); });
    }

    /// Results of work still under way are dropped from now on (shutdown).
    void stop();

private:
    void dispatch(const std::string& key, std::function<void()> work, std::function<void()> done);
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace aismi
