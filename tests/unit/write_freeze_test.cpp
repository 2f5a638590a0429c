// The freeze a crash test arms on the simulated hardware: it counts writes from when it is
// armed, stalls exactly the armed one before or after it takes effect, and lets it go on thaw.
#include "sim/write_freeze.hpp"

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

using namespace aismi::sim;

namespace {

// Waits up to 5 s for `done`.
template <typename F>
bool within5s(F done) {
    for (int i = 0; i < 500 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
}

}  // namespace

TEST(WriteFreeze, UnarmedEveryWritePassesUncounted) {
    aismi::test::TempDir dir;
    EXPECT_EQ(freezeBeforeWrite(dir.path(), "a"), 0u);
    freezeAfterWrite(dir.path(), "a", 0);
    EXPECT_FALSE(freezeState(dir.path()).value().has_value());
}

TEST(WriteFreeze, StallsTheArmedWriteBeforeItTakesEffectUntilThawed) {
    aismi::test::TempDir dir;
    ASSERT_TRUE(armFreeze(dir.path(), FreezeWhen::Before, 2).ok());
    EXPECT_EQ(freezeBeforeWrite(dir.path(), "first"), 1u) << "write 1 passes";
    freezeAfterWrite(dir.path(), "first", 1);
    std::atomic<bool> written{false};
    std::thread writer([&] {
        const unsigned n = freezeBeforeWrite(dir.path(), "second");
        written = true;  // what the write would do
        freezeAfterWrite(dir.path(), "second", n);
    });
    ASSERT_TRUE(within5s([&] {
        auto s = freezeState(dir.path());
        return s && *s && (*s)->frozenPath == "second";
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(written) << "stalled before the write";
    EXPECT_EQ(freezeState(dir.path()).value()->seen, 2u);
    ASSERT_TRUE(thaw(dir.path()).ok());
    EXPECT_TRUE(within5s([&] { return written.load(); }));
    writer.join();
    EXPECT_EQ(freezeBeforeWrite(dir.path(), "third"), 0u) << "thawed: nothing is counted";
}

TEST(WriteFreeze, StallsAfterTheArmedWriteTookEffectAndCountsConcurrentWritesApart) {
    aismi::test::TempDir dir;
    ASSERT_TRUE(armFreeze(dir.path(), FreezeWhen::After, 1).ok());
    std::atomic<bool> returned{false};
    std::thread writer([&] {
        const unsigned n = freezeBeforeWrite(dir.path(), "one");
        freezeAfterWrite(dir.path(), "one", n);
        returned = true;
    });
    ASSERT_TRUE(within5s([&] {
        auto s = freezeState(dir.path());
        return s && *s && (*s)->frozenPath == "one";
    }));
    // Another thread's write meanwhile is counted, and passes: only write 1 stalls.
    const unsigned other = freezeBeforeWrite(dir.path(), "two");
    EXPECT_EQ(other, 2u);
    freezeAfterWrite(dir.path(), "two", other);
    EXPECT_FALSE(returned);
    ASSERT_TRUE(thaw(dir.path()).ok());
    EXPECT_TRUE(within5s([&] { return returned.load(); }));
    writer.join();
}

TEST(WriteFreeze, RefusesOutOfRangeWritesAndIgnoresADamagedFile) {
    aismi::test::TempDir dir;
    EXPECT_FALSE(armFreeze(dir.path(), FreezeWhen::Before, 0).ok());
    EXPECT_FALSE(armFreeze(dir.path(), FreezeWhen::Before, kMaxFreezeWrite + 1).ok());
    std::ofstream(dir.path() + "/freeze") << "when sideways\nat 1\nseen 0\n";
    EXPECT_FALSE(freezeState(dir.path()).ok());
    EXPECT_EQ(freezeBeforeWrite(dir.path(), "a"), 0u) << "a damaged freeze stalls nothing";
}
