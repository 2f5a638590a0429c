// The authorizer without a bus: polkit's answers, the root-only fallback with the uid the bus
// reports, and a polkit that never answers (refused in time; the loop keeps running).
#include "authorizer.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <gtest/gtest.h>

#include <optional>

using namespace aismi;

namespace {

class FakeAuthority : public AuthorityClient {
public:
    std::optional<Answer> answer;  // nullopt: never answers (polkitd stopped)
    Result<uid_t> uid = uid_t{0};
    std::vector<std::string> asked;
    void checkAuthorization(const std::string& sender, const std::string& action, std::function<void(Answer, std::string)> reply) override {
        asked.push_back(sender + " " + action);
        if (answer) reply(*answer, "detail");
    }
    void unixUser(const std::string&, std::function<void(Result<uid_t>)> reply) override { reply(uid); }
};

Result<void> ask(boost::asio::io_context& io, Authorizer& a, std::chrono::milliseconds wait = std::chrono::milliseconds(500)) {
    std::optional<Result<void>> out;
    a.authorize(":1.42", "org.aismi.manage-vfs", [&](Result<void> r) {
        EXPECT_FALSE(out.has_value()) << "answered twice";
        out = std::move(r);
    });
    io.restart();
    io.run_for(wait);
    return out.value_or(makeError(Errc::Internal, "no answer"));
}

}  // namespace

TEST(Authorizer, FollowsPolkit) {
    boost::asio::io_context io;
    FakeAuthority polkit;
    Authorizer a(io, polkit, std::chrono::milliseconds(200));
    polkit.answer = AuthorityClient::Answer::Allowed;
    EXPECT_TRUE(ask(io, a).ok());
    polkit.answer = AuthorityClient::Answer::Denied;
    auto r = ask(io, a);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::PermissionDenied);
    EXPECT_NE(r.error().message.find("org.aismi.manage-vfs"), std::string::npos);
    EXPECT_EQ(polkit.asked.at(0), ":1.42 org.aismi.manage-vfs");
}

TEST(Authorizer, FallsBackToRootOnlyWithTheUidTheBusReports) {
    boost::asio::io_context io;
    FakeAuthority polkit;
    polkit.answer = AuthorityClient::Answer::NoPolkit;
    Authorizer a(io, polkit, std::chrono::milliseconds(200));
    EXPECT_TRUE(ask(io, a).ok());
    polkit.uid = uid_t{65534};
    auto r = ask(io, a);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("uid 65534 is not root"), std::string::npos) << r.error().message;
    polkit.uid = makeError(Errc::IoError, "no such name");
    EXPECT_EQ(ask(io, a).error().code, Errc::PermissionDenied);
}

TEST(Authorizer, RefusesWhenPolkitDoesNotAnswerInTimeWithoutBlockingTheLoop) {
    boost::asio::io_context io;
    FakeAuthority polkit;  // never answers
    Authorizer a(io, polkit, std::chrono::milliseconds(50));
    bool loopRan = false;
    boost::asio::post(io, [&] { loopRan = true; });
    auto r = ask(io, a, std::chrono::milliseconds(300));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("did not answer within 50 ms"), std::string::npos) << r.error().message;
    EXPECT_TRUE(loopRan) << "other work ran while polkit was silent";
}
