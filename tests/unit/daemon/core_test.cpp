// The core's small parts: the device executor and the event bus.
#include "card_changes.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"

#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

using namespace aismi;

TEST(DeviceExecutor, RunsWorkOffTheLoopAndDeliversTheResultOnIt) {
    boost::asio::io_context io;
    DeviceExecutor executor(io, 2);
    const auto loopThread = std::this_thread::get_id();
    std::thread::id workThread, doneThread;
    std::optional<Result<int>> out;
    executor.runOnCard<int>(
        "card", [&]() -> Result<int> { return workThread = std::this_thread::get_id(), 42; },
        [&](Result<int> r) {
            doneThread = std::this_thread::get_id();
            out = std::move(r);
        });
    while (!out) {
        io.restart();
        io.run_one_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(**out, 42);
    EXPECT_NE(workThread, loopThread);
    EXPECT_EQ(doneThread, loopThread);
}

TEST(DeviceExecutor, TurnsAnExceptionOnAWorkerIntoAnError) {
    boost::asio::io_context io;
    DeviceExecutor executor(io, 1);
    std::optional<Result<int>> out;
    executor.runOnCard<int>(
        "card 0", []() -> Result<int> { throw std::out_of_range("vector::at"); }, [&](Result<int> r) { out = std::move(r); });
    while (!out) {
        io.restart();
        io.run_one_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(out->ok());
    EXPECT_EQ(out->error().code, Errc::Internal);
    EXPECT_NE(out->error().message.find("vector::at"), std::string::npos);
}

TEST(DeviceExecutor, NeverRunsTwoPiecesOfWorkOnOneCardAtOnce) {
    boost::asio::io_context io;
    DeviceExecutor executor(io, 2);
    std::atomic<int> inside{0}, most{0}, done{0};
    for (int i = 0; i < 20; ++i)
        executor.runOnCard<void>(
            "card 0",
            [&]() -> Result<void> {
                most = std::max(most.load(), ++inside);
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
                --inside;
                return {};
            },
            [&](Result<void>) { ++done; });
    while (done < 20) {
        io.restart();
        io.run_one_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(most, 1);
}

namespace {
struct Ping {
    int n;
};
struct Pong {};
}  // namespace

TEST(EventBus, DeliversEachEventToItsSubscribersInOrder) {
    EventBus bus;
    std::vector<std::string> got;
    bus.subscribe<Ping>([&](const Ping& p) { got.push_back("a" + std::to_string(p.n)); });
    bus.subscribe<Ping>([&](const Ping& p) {
        got.push_back("b" + std::to_string(p.n));
        if (p.n == 1) bus.subscribe<Ping>([&](const Ping& q) { got.push_back("c" + std::to_string(q.n)); });
    });
    bus.subscribe<Pong>([&](const Pong&) { got.push_back("pong"); });
    bus.publish(Ping{1});
    bus.publish(Ping{2});
    EXPECT_EQ(got, (std::vector<std::string>{"a1", "b1", "c1", "a2", "b2", "c2"}));
}

TEST(CardChanges, OneChangePerCardOrPerVfAtATime) {
    CardChanges changes;
    ASSERT_TRUE(changes.begin("A", 1, "provision VF 1").ok());
    ASSERT_TRUE(changes.begin("A", 2, "provision VF 2").ok()) << "two VFs of one card side by side";
    EXPECT_EQ(changes.begin("A", 1, "again").error().code, Errc::Busy);
    auto whole = changes.begin("A", "set VF count");
    ASSERT_FALSE(whole.ok());
    EXPECT_NE(whole.error().message.find("set VF count: another change on this card is under way (provision VF 1)"), std::string::npos);
    EXPECT_TRUE(changes.begin("AB", "set VF count").ok()) << "a key that merely starts alike is another card";
    changes.end("A", 1);
    changes.end("A", 2);
    EXPECT_FALSE(changes.busy("A"));
    ASSERT_TRUE(changes.begin("A", "set VF count").ok());
    EXPECT_EQ(changes.begin("A", 3, "provision").error().code, Errc::Busy);
    EXPECT_TRUE(changes.busy("A"));
    changes.end("A");
    EXPECT_FALSE(changes.busy("A"));
}
