// The reference model's register (tests/chaos/register.hpp): what an object may hold after
// writes known only by the interval between a call and its answer.
#include "../chaos/register.hpp"

#include <gtest/gtest.h>

using aismi::chaos::Register;

TEST(ChaosRegister, HoldsWhatWasSeenUntilACertainWrite) {
    Register<int> r(1);
    EXPECT_EQ(r.candidates(), std::vector<int>{1});
    r.write(2, 0.0, Register<int>::kNever, false);  // no answer: perhaps
    EXPECT_TRUE(r.allows(1));
    EXPECT_TRUE(r.allows(2));
    r.write(3, 1.0, 2.0, true);
    EXPECT_FALSE(r.allows(1)) << "a certain write replaced what was seen";
    EXPECT_TRUE(r.allows(2)) << "the unanswered write may land after it";
    EXPECT_TRUE(r.allows(3));
}

TEST(ChaosRegister, AWriteThatEndedBeforeAnotherBeganIsGone) {
    Register<int> r(0);
    r.write(1, 0.0, 1.0, true);
    r.write(2, 2.0, 3.0, true);
    EXPECT_EQ(r.candidates(), std::vector<int>{2});
    EXPECT_FALSE(r.allows(1)) << "a lost update";
}

TEST(ChaosRegister, OverlappingWritesMayLandInEitherOrder) {
    Register<int> r(0);
    r.write(1, 0.0, 5.0, true);
    r.write(2, 1.0, 2.0, true);
    EXPECT_TRUE(r.allows(1));
    EXPECT_TRUE(r.allows(2));
    EXPECT_FALSE(r.allows(0));
}

TEST(ChaosRegister, ForgetsUntilItIsSeenAgain) {
    Register<int> r(0);
    r.forget();
    EXPECT_TRUE(r.allows(42));
    r.seen(7);
    EXPECT_FALSE(r.allows(42));
    EXPECT_TRUE(r.allows(7));
    EXPECT_EQ(r.writes(), 0u);
}
