#include <aismi/error.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <set>

using namespace aismi;

TEST(ErrorTable, GivesEveryCodeAUniqueDbusNameAndExitCode) {
    std::set<std::string_view> names;
    std::set<int> exitCodes;
    for (const auto& row : errorTable()) {
        EXPECT_TRUE(names.insert(row.dbusName).second) << row.dbusName;
        EXPECT_TRUE(exitCodes.insert(row.exitCode).second) << row.name;
        EXPECT_EQ(row.dbusName, "org.aismi.Error." + std::string(row.name));
        EXPECT_GT(row.exitCode, 1) << "exit code 1 is left to generic failures";
        EXPECT_EQ(&errcInfo(row.code), &row);
        EXPECT_EQ(errcFromDbusName(row.dbusName), row.code);
    }
}

TEST(ErrorTable, KeepsPublishedNamesAndExitCodesStable) {
    // These are interfaces (D-Bus clients, scripts checking $?): a change here breaks users.
    EXPECT_EQ(errcInfo(Errc::InvalidArgument).exitCode, 2);
    EXPECT_EQ(errcInfo(Errc::Busy).dbusName, "org.aismi.Error.Busy");
    EXPECT_EQ(errcInfo(Errc::PermissionDenied).dbusName, "org.aismi.Error.PermissionDenied");
    EXPECT_EQ(errcInfo(Errc::PermissionDenied).exitCode, 7);
    EXPECT_EQ(errcInfo(Errc::ServiceUnavailable).exitCode, 18);
    EXPECT_EQ(errcInfo(Errc::RolledBack).exitCode, 23);
    EXPECT_EQ(errcInfo(Errc::HostUnreachable).exitCode, 24);
    EXPECT_EQ(errcInfo(Errc::FileUnreadable).exitCode, 25);
    EXPECT_FALSE(errcFromDbusName("org.freedesktop.DBus.Error.Failed").has_value());
}

TEST(Error, MapsKernelErrnosToCodesAndKeepsTheErrno) {
    const Error e = Error::fromErrno(EBUSY, "write sriov_numvfs");
    EXPECT_EQ(e.code, Errc::Busy);
    EXPECT_EQ(e.sysErrno, EBUSY);
    EXPECT_EQ(e.message, "write sriov_numvfs: Device or resource busy");
    EXPECT_EQ(errcFromErrno(ERANGE), Errc::OutOfRange);
    EXPECT_EQ(errcFromErrno(ENODEV), Errc::DeviceLost);
    EXPECT_EQ(errcFromErrno(ETIMEDOUT), Errc::Timeout);
    EXPECT_EQ(errcFromErrno(EIO), Errc::IoError);
}

TEST(Error, AddsContextWhileUnwinding) {
    const Error e = Error::fromErrno(EBUSY, "write reset").context("reset").context("card 0 VF 3");
    EXPECT_EQ(e.message, "card 0 VF 3: reset: write reset: Device or resource busy");
    EXPECT_EQ(e.code, Errc::Busy);
    // A caller naming the place the lower layer already named does not say it twice.
    const Error said = makeError(Errc::IoError, "card 0 (0000:00:04.0): set VF count to 2: open: Read-only file system");
    EXPECT_EQ(said.context("card 0 (0000:00:04.0): set VF count to 2").message, said.message);
    EXPECT_EQ(said.context("card 0").message, "card 0: " + said.message) << "only the whole place counts";
}

TEST(Result, CarriesAValueOrAnError) {
    Result<int> good(4);
    Result<int> bad(makeError(Errc::NotFound, "no card 9"));
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 4);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, Errc::NotFound);
    EXPECT_EQ(bad.valueOr(7), 7);
    Result<void> fine;
    EXPECT_TRUE(fine.ok());
}
