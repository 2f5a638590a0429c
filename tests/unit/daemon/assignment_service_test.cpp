// Giving VFs to libvirt domains through the Hypervisor seam (a faithful fake: the real
// libvirtd's test driver cannot attach live; tests/integration/libvirt_test.cpp drives the
// real one): every step rolled back on failure, the quota in the same transaction, release
// with an FLR and a scrub that leaves the neighbours' memory alone, lifecycle events,
// adoption and conflicts, the start check, and recovery of an interrupted assignment.
#include "assignment_repository.hpp"
#include "assignment_service.hpp"
#include "daemon_fixture.hpp"
#include "events.hpp"
#include "fake_hypervisor.hpp"
#include "quota_service.hpp"
#include "vfio_binding.hpp"

#include <boost/asio/post.hpp>

using namespace aismi;

namespace {

class AssignmentServiceTest : public aismi::test::DaemonFixture {
protected:
    void SetUp() override {
        DaemonFixture::SetUp();
        ASSERT_TRUE(setVfCount(0, 4).ok());
        ASSERT_TRUE(setVfCount(1, 2).ok());
        for (unsigned vf : {1u, 2u, 3u}) ASSERT_TRUE(provision(0, vf, "eighth").ok());
        rows = std::make_unique<AssignmentRepository>(*db);
        libvirtCalls = std::make_unique<DeviceExecutor>(*io, 1);
        start();
    }
    void start() {
        hv.events = [this](HypervisorEvent e) {
            boost::asio::post(*io, [this, e] {
                if (assignments) assignments->onHypervisorEvent(e);
            });
        };
        assignments = std::make_unique<AssignmentService>(
            AssignmentService::Deps{*db, *desired, *rows, *quotas, *journal, *inventory, *executor, *libvirtCalls, *poller, *events, changes, *io,
                                    (tmp / "managed-vfs")},
            &hv);
        poller->annotators.push_back([this](CardSnapshot& s) {
            if (assignments) assignments->annotate(s);
        });
        assignments->start();
        ASSERT_TRUE(runUntil([&] { return assignments->libvirtConnected(); }));
        settle();
    }
    void TearDown() override {
        libvirtCalls.reset();  // joins the libvirt thread before the service goes
        assignments.reset();
        rows.reset();
        DaemonFixture::TearDown();
    }
    // Lets posted events and the reconciliations they start finish.
    void settle() {
        for (int i = 0; i < 20; ++i) {
            io->restart();
            io->run_for(std::chrono::milliseconds(5));
        }
    }
    Result<void> wait(const std::function<void(AssignmentService::Done)>& start) {
        std::optional<Result<void>> outcome;
        start([&](Result<void> r) { outcome = std::move(r); });
        if (!runUntil([&] { return outcome.has_value(); })) return makeError(Errc::Timeout, "no outcome");
        settle();
        return *outcome;
    }
    Result<void> assign(unsigned vf, const std::string& domain, const std::string& tenant = "", unsigned card = 0) {
        return wait([&](auto done) { assignments->assign(VfRef{card, vf}, domain, tenant, done); });
    }
    Result<void> release(unsigned vf) {
        return wait([&](auto done) { assignments->release(VfRef{0, vf}, done); });
    }
    PciAddress address(unsigned vf, unsigned card = 0) { return PciAddress::parse(inventory->vf(VfRef{card, vf})->pciAddress).value(); }
    const VfSnapshot& vf(unsigned k) { return *inventory->vf(VfRef{0, k}); }
    void writeMemory(unsigned vf, const std::string& pattern) {
        mutate(0, [&](sim::SimCardModel& m) { return m.writeMemory(vf, pattern); });
    }
    std::string memory(unsigned vf) { return state->card(0).value()->vfs.at(vf).memory; }
    bool has(const std::vector<PciAddress>& list, const PciAddress& a) { return std::find(list.begin(), list.end(), a) != list.end(); }

    aismi::test::FakeHypervisor hv;
    std::unique_ptr<AssignmentRepository> rows;
    std::unique_ptr<DeviceExecutor> libvirtCalls;
    std::unique_ptr<AssignmentService> assignments;
};

}  // namespace

TEST_F(AssignmentServiceTest, AssignsToARunningDomainLiveAndPersistentWithinQuota) {
    hv.define("vm1", {true, true, {}, {}, ""});
    ASSERT_TRUE(QuotaService(*quotas, *events).set(Quota{"acme", 1, std::nullopt, std::nullopt}).ok());
    auto r = assign(1, "vm1", "acme");
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto dom = hv.get("vm1");
    EXPECT_TRUE(has(dom.live, address(1))) << "attached to the running guest";
    EXPECT_TRUE(has(dom.config, address(1))) << "and to its definition";
    EXPECT_EQ(vf(1).driver, "vfio-pci");
    EXPECT_EQ(vf(1).domain(), "vm1");
    EXPECT_EQ(vf(1).assignment(), "assigned");
    EXPECT_EQ(vf(1).tenant, "acme") << "the provisioning carries the tenant the assignment gave it";
    EXPECT_TRUE(journal->open()->empty());
    // The quota is full: a second VF for acme is refused and nothing changes.
    const unsigned callsBefore = hv.calls;
    auto over = assign(2, "vm1", "acme");
    ASSERT_FALSE(over.ok());
    EXPECT_EQ(over.error().code, Errc::NoSpace);
    EXPECT_NE(over.error().message.find("quota allows 1 VF"), std::string::npos) << over.error().message;
    EXPECT_EQ(hv.calls, callsBefore) << "refused before libvirt was touched";
    EXPECT_EQ(vf(2).driver, "aismi");
    EXPECT_EQ(vf(2).domain(), "");
    EXPECT_EQ(vf(2).tenant, "");
    EXPECT_FALSE(rows->get(kSerial0, 2)->has_value());
}

TEST_F(AssignmentServiceTest, AFailureAtAnyStepUndoesEveryStepAlreadyTaken) {
    hv.define("vm1", {true, true, {}, {}, ""});
    hv.fail = {{true, Scope::Config}};  // the persistent attach fails after the live one worked
    auto r = assign(1, "vm1", "acme");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::LibvirtFailed);
    const auto dom = hv.get("vm1");
    EXPECT_FALSE(has(dom.live, address(1))) << "the live attach was undone";
    EXPECT_FALSE(has(dom.config, address(1)));
    EXPECT_EQ(vf(1).driver, "aismi") << "back to its host driver";
    EXPECT_EQ(vf(1).domain(), "");
    EXPECT_EQ(vf(1).tenant, "") << "the tenant the assignment gave went with it";
    EXPECT_FALSE(rows->get(kSerial0, 1)->has_value());
    EXPECT_TRUE(journal->open()->empty());
    // Bad input changes nothing either.
    hv.fail.clear();
    EXPECT_EQ(assign(1, "nosuch").error().code, Errc::NotFound);
    EXPECT_EQ(assign(1, "a/b").error().code, Errc::InvalidArgument);
    EXPECT_EQ(assign(1, "12").error().code, Errc::InvalidArgument) << "only digits: libvirt would take it for an ID";
    EXPECT_EQ(assign(1, "vm1", "bad tenant").error().code, Errc::InvalidArgument);
    EXPECT_EQ(assign(0, "vm1").error().code, Errc::InvalidState) << "VF 0 is not provisioned";
    EXPECT_EQ(assign(9, "vm1").error().code, Errc::NotFound);
    EXPECT_EQ(vf(1).driver, "aismi");
    EXPECT_TRUE(rows->all()->empty());
}

TEST_F(AssignmentServiceTest, ReleaseResetsAndScrubsTheVfAndNeverTouchesANeighbour) {
    hv.define("vm1", {false, true, {}, {}, "acme"});
    ASSERT_TRUE(assign(1, "vm1").ok());
    EXPECT_EQ(vf(1).tenant, "acme") << "from the domain's metadata";
    ASSERT_TRUE(assign(2, "vm1").ok());
    writeMemory(1, "tenant-secret");
    writeMemory(2, "neighbour-data");
    writeMemory(3, "other-data");
    const uint64_t resets2 = vf(2).status->resetCount;
    auto r = release(1);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(memory(1), "") << "scrubbed";
    EXPECT_EQ(memory(2), "neighbour-data") << "the neighbour's memory is untouched";
    EXPECT_EQ(memory(3), "other-data");
    EXPECT_EQ(vf(2).status->resetCount, resets2) << "the neighbour was not reset";
    EXPECT_EQ(vf(1).status->resetCount, 1u) << "one FLR";
    EXPECT_FALSE(has(hv.get("vm1").config, address(1)));
    EXPECT_TRUE(has(hv.get("vm1").config, address(2)));
    EXPECT_EQ(vf(1).driver, "aismi");
    EXPECT_EQ(vf(1).domain(), "");
    EXPECT_EQ(vf(1).tenant, "");
    EXPECT_FALSE(vf(1).scrubPending);
    EXPECT_TRUE(rows->dirty()->empty());
    EXPECT_EQ(release(1).error().code, Errc::InvalidState) << "not assigned any more";
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(AssignmentServiceTest, NothingIsResetUnderAGuestThatHasNotLetGoOfTheVf) {
    hv.define("vm1", {true, true, {}, {}, ""});
    ASSERT_TRUE(assign(1, "vm1").ok());
    writeMemory(1, "in-use");
    hv.slowUnplug = true;
    auto r = release(1);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::Busy);
    EXPECT_NE(r.error().message.find("has not released"), std::string::npos) << r.error().message;
    EXPECT_EQ(memory(1), "in-use") << "not scrubbed under the guest";
    EXPECT_EQ(vf(1).domain(), "vm1");
    EXPECT_EQ(vf(1).driver, "vfio-pci");
    EXPECT_TRUE(has(hv.get("vm1").config, address(1))) << "its definition keeps it";
    hv.slowUnplug = false;
    ASSERT_TRUE(release(1).ok()) << "once the guest lets go";
    EXPECT_EQ(memory(1), "");
}

TEST_F(AssignmentServiceTest, AScrubThatFailsKeepsTheVfOutOfUseUntilItSucceeds) {
    hv.define("vm1", {false, true, {}, {}, ""});
    ASSERT_TRUE(assign(1, "vm1").ok());
    writeMemory(1, "secret");
    inject(0, 1u, sim::Fault::FlrFail);
    EXPECT_FALSE(release(1).ok());
    EXPECT_TRUE(vf(1).scrubPending);
    EXPECT_EQ(vf(1).domain(), "") << "the domain gave it back";
    EXPECT_EQ(memory(1), "secret");
    auto refused = assign(1, "vm1");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, Errc::InvalidState);
    EXPECT_NE(refused.error().message.find("scrubbed"), std::string::npos);
    mutate(0, [&](sim::SimCardModel& m) { return m.clear(1u, clock.now); });
    ASSERT_TRUE(release(1).ok()) << "release retries the scrub";
    EXPECT_EQ(memory(1), "");
    EXPECT_FALSE(vf(1).scrubPending);
    EXPECT_TRUE(assign(1, "vm1").ok());
}

TEST_F(AssignmentServiceTest, AnUndefinedDomainFreesItsVfsScrubbedAndAStoppedOneKeepsThemScrubbed) {
    hv.define("vm1", {true, true, {}, {}, ""});
    hv.define("vm2", {true, true, {}, {}, ""});
    ASSERT_TRUE(assign(1, "vm1").ok());
    ASSERT_TRUE(assign(2, "vm2").ok());
    writeMemory(1, "one");
    writeMemory(2, "two");
    hv.stop("vm2");
    ASSERT_TRUE(runUntil([&] { return memory(2).empty() && !vf(2).scrubPending; }));
    EXPECT_EQ(vf(2).domain(), "vm2") << "a stopped domain keeps its VFs";
    EXPECT_EQ(vf(2).driver, "vfio-pci");
    hv.stop("vm1");
    hv.undefine("vm1");
    ASSERT_TRUE(runUntil([&] { return vf(1).domain().empty() && vf(1).driver == "aismi" && !vf(1).scrubPending; }));
    EXPECT_EQ(memory(1), "");
    EXPECT_FALSE(rows->get(kSerial0, 1)->has_value());
}

TEST_F(AssignmentServiceTest, AdoptsAHostdevAddedOutsideAndReportsConflictsWithoutFixingThem) {
    // vm1 has VF 1 (provisioned, bound to vfio-pci by hand); vm2 and vm3 both have VF 3; vm2 has
    // VF 0, which is not provisioned.
    ASSERT_TRUE(wait([&](auto done) { assignments->bind(VfRef{0, 1}, AssignmentService::DriverChoice::Vfio, done); }).ok());
    hv.define("vm1", {false, true, {}, {address(1)}, "acme"});
    hv.define("vm2", {false, true, {}, {address(3), address(0)}, ""});
    hv.define("vm3", {false, true, {}, {address(3)}, ""});
    ASSERT_TRUE(runUntil([&] { return vf(1).domain() == "vm1" && !vf(3).assignmentProblems.empty(); }));
    settle();
    EXPECT_EQ(vf(1).tenant, "acme");
    EXPECT_TRUE(vf(1).assignmentProblems.empty());
    EXPECT_TRUE(rows->get(kSerial0, 1).value()->adopted);
    EXPECT_EQ(vf(3).domain(), "") << "claimed by two domains: not adopted";
    EXPECT_NE(vf(3).assignmentProblems.front().find("in domains 'vm2' and 'vm3'"), std::string::npos) << vf(3).assignmentProblems.front();
    EXPECT_EQ(vf(3).health, Health::Warning);
    EXPECT_EQ(vf(0).domain(), "vm2") << "recorded, so that nobody else gets it";
    std::string problems;
    for (const auto& p : vf(0).assignmentProblems) problems += p + ";";
    EXPECT_NE(problems.find("not provisioned"), std::string::npos) << problems;
    EXPECT_NE(problems.find("not vfio-pci"), std::string::npos) << problems;
    EXPECT_TRUE(has(hv.get("vm2").config, address(3))) << "nothing was removed from a domain";
    EXPECT_TRUE(has(hv.get("vm3").config, address(3)));
    // The hook's question for each.
    const auto xml = [&](const std::string& name, std::vector<PciAddress> devs) {
        std::string x = "<domain><name>" + name + "</name><devices>";
        for (const auto& a : devs) x += vfio::hostdevXml(a);
        return x + "<hostdev mode='subsystem' type='pci'><source><address bus='0x99' slot='0' function='0'/></source></hostdev></devices></domain>";
    };
    EXPECT_EQ(assignments->checkStart(xml("vm1", {address(1)})).value(), "");
    EXPECT_NE(assignments->checkStart(xml("vm2", {address(3)})).value().find("not assigned to domain 'vm2'"), std::string::npos);
    EXPECT_NE(assignments->checkStart(xml("vm2", {address(0)})).value().find("not vfio-pci"), std::string::npos);
    EXPECT_NE(assignments->checkStart(xml("vm9", {address(1)})).value().find("but to 'vm1'"), std::string::npos);
    EXPECT_EQ(assignments->checkStart(xml("vm9", {})).value(), "") << "hostdevs that are not ours are libvirt's business";
    EXPECT_EQ(assignments->checkStart("<domain><name>x").error().code, Errc::MalformedData);
}

TEST_F(AssignmentServiceTest, BindingRoundTripsAndIsRefusedWhileAssigned) {
    const auto bind = [&](unsigned k, AssignmentService::DriverChoice d) {
        return wait([&](auto done) { assignments->bind(VfRef{0, k}, d, done); });
    };
    ASSERT_TRUE(bind(2, AssignmentService::DriverChoice::Vfio).ok());
    EXPECT_EQ(vf(2).driver, "vfio-pci");
    ASSERT_TRUE(bind(2, AssignmentService::DriverChoice::Host).ok());
    EXPECT_EQ(vf(2).driver, "aismi");
    hv.define("vm1", {false, true, {}, {}, ""});
    ASSERT_TRUE(assign(2, "vm1").ok());
    auto refused = bind(2, AssignmentService::DriverChoice::Host);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, Errc::InvalidState);
    EXPECT_EQ(vf(2).driver, "vfio-pci");
    EXPECT_TRUE(journal->open()->empty());
}

TEST_F(AssignmentServiceTest, AnAssignmentARestartInterruptedIsRolledBackWhenLibvirtAnswers) {
    // The state a crash leaves between the persistent attach and recording it as done.
    assignments.reset();
    hv.define("vm1", {false, true, {}, {address(1)}, ""});
    ASSERT_TRUE(rows->put(Assignment{kSerial0, 1, "vm1", "acme", false, Assignment::State::Assigning, false, 0}).ok());
    ASSERT_TRUE(vfio::bindToVfio(inventory->fs(), address(1)).ok());
    start();
    ASSERT_TRUE(runUntil([&] { return !rows->get(kSerial0, 1).value().has_value(); }));
    settle();
    EXPECT_FALSE(has(hv.get("vm1").config, address(1))) << "taken back out of the domain";
    EXPECT_EQ(inventory->fs().readLink("bus/pci/devices/" + address(1).str() + "/driver").value().find("vfio"), std::string::npos);
    ASSERT_TRUE(runUntil([&] { return !changes.busy(kSerial0, 1); })) << "the roll-back has finished";
    // A release a restart interrupted is finished: scrubbed and free.
    assignments.reset();
    hv.define("vm2", {false, true, {}, {address(2)}, ""});
    ASSERT_TRUE(rows->put(Assignment{kSerial0, 2, "vm2", "", false, Assignment::State::Releasing, false, 0}).ok());
    writeMemory(2, "left-behind");
    start();
    ASSERT_TRUE(runUntil([&] { return !rows->get(kSerial0, 2).value().has_value() && memory(2).empty(); }));
    settle();
    EXPECT_FALSE(has(hv.get("vm2").config, address(2)));
}

TEST_F(AssignmentServiceTest, LibvirtAwayIsNeverAStallAndRefusesWhatNeedsIt) {
    hv.define("vm1", {false, true, {}, {}, ""});
    ASSERT_TRUE(assign(1, "vm1").ok());
    hv.emit(HypervisorEvent::Kind::Disconnected, "");
    hv.down = true;
    settle();
    EXPECT_FALSE(assignments->libvirtConnected());
    auto r = assign(2, "vm1");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::ServiceUnavailable);
    EXPECT_EQ(release(1).error().code, Errc::ServiceUnavailable);
    EXPECT_EQ(vf(1).domain(), "vm1") << "nothing is taken back while libvirt cannot say what the domain has";
    hv.down = false;
    ASSERT_TRUE(runUntil([&] { return assignments->libvirtConnected(); })) << "reconnects by itself";
    // The reconciliation after a reconnect scrubs the VFs of stopped domains (their Stopped
    // events may have been missed while libvirt was away).
    ASSERT_TRUE(runUntil([&] { return !changes.busy(kSerial0, 1); }));
    auto released = release(1);
    ASSERT_TRUE(released.ok()) << released.error().message;
}

TEST_F(AssignmentServiceTest, AVfHeldForKubeletIsNobodyElsesUntilReleasedThenScrubbed) {
    hv.define("vm1", {true, true, {}, {}, ""});
    const auto hold = [&](unsigned k, const std::string& holder) { return wait([&](auto done) { assignments->hold(VfRef{0, k}, holder, done); }); };
    auto r = hold(1, "kubelet");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(vf(1).holder(), "kubelet");
    EXPECT_EQ(vf(1).driver, "vfio-pci");
    EXPECT_TRUE(hold(1, "kubelet").ok()) << "holding again for the same holder is harmless";
    EXPECT_EQ(hold(1, "other").error().code, Errc::InvalidState);
    auto assign1 = assign(1, "vm1");
    ASSERT_FALSE(assign1.ok());
    EXPECT_NE(assign1.error().message.find("held by kubelet"), std::string::npos) << assign1.error().message;
    EXPECT_EQ(wait([&](auto done) { assignments->bind(VfRef{0, 1}, AssignmentService::DriverChoice::Host, done); }).error().code, Errc::InvalidState);
    // Refusals: not provisioned, bad names, assigned elsewhere.
    EXPECT_EQ(hold(0, "kubelet").error().code, Errc::InvalidState) << "VF 0 is not provisioned";
    EXPECT_EQ(hold(2, "bad name").error().code, Errc::InvalidArgument);
    EXPECT_EQ(hold(2, "").error().code, Errc::InvalidArgument);
    ASSERT_TRUE(assign(2, "vm1").ok());
    EXPECT_EQ(hold(2, "kubelet").error().code, Errc::InvalidState) << "assigned to vm1";
    // Kept across a restart of the service (the record is in the store).
    writeMemory(1, "pod-secret");
    assignments.reset();
    start();
    EXPECT_EQ(vf(1).holder(), "kubelet");
    // Released: reset, scrubbed, back on its host driver, free for anyone.
    ASSERT_TRUE(release(1).ok());
    EXPECT_EQ(vf(1).holder(), "");
    EXPECT_EQ(vf(1).driver, "aismi");
    EXPECT_EQ(memory(1), "") << "scrubbed before anyone else gets it";
    EXPECT_FALSE(vf(1).scrubPending);
    EXPECT_TRUE(assign(1, "vm1").ok());
}
