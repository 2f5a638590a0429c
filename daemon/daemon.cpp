// The composition root: builds the store, backend, executor, inventory, services and bus, and
// wires them through the event bus. No logic of its own beyond start-up order, signals,
// sd_notify and the watchdog.
#include "daemon.hpp"

#include "assignment_repository.hpp"
#include "assignment_service.hpp"
#include "authorizer.hpp"
#include "backend.hpp"
#include "limits.hpp"
#include "bus_objects.hpp"
#include "bus_pump.hpp"
#include "daemon_config.hpp"
#include "database.hpp"
#include "desired_state_repository.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "event_history.hpp"
#include "firmware_repository.hpp"
#include "firmware_service.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "health_assessor.hpp"
#include "http_server.hpp"
#include "interfaces.hpp"
#include "card_changes.hpp"
#include "inventory.hpp"
#include "declared_layouts.hpp"
#include "layout_service.hpp"
#include "policy_repository.hpp"
#include "policy_service.hpp"
#include "provision_service.hpp"
#include "recovery_repository.hpp"
#include "recovery_service.hpp"
#include "reset_service.hpp"
#include "service.hpp"
#include "service_notifier.hpp"
#include "quota_repository.hpp"
#include "quota_service.hpp"
#include "known_card_repository.hpp"
#include "job_repository.hpp"
#include "jobs.hpp"
#include "journal_repository.hpp"
#include "log.hpp"
#include "metrics_endpoint.hpp"
#include "poller.hpp"
#include "reconciler.hpp"
#include "reload.hpp"
#include "sdbus_authority_client.hpp"
#include "state_dir_lock.hpp"
#include "version.hpp"
#include "vf_count_service.hpp"

#include <aismi/text.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <sys/stat.h>
#include <boost/asio/steady_timer.hpp>
#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-daemon.h>

#include <ctime>
#include <iostream>

namespace aismi {
namespace {

constexpr unsigned kWorkerThreads = 2;
constexpr std::chrono::seconds kPolkitTimeout{10};  // well inside the unit's watchdog
constexpr std::chrono::seconds kHousekeeping{60};


std::string statusLine(const Inventory& inv, const std::string& backend) {
    size_t vfs = 0, unhealthy = 0;
    for (unsigned i = 0; i < inv.size(); ++i) {
        vfs += inv.snapshot(i).vfs.size();
        unhealthy += inv.snapshot(i).health != Health::Ok;
    }
    return "STATUS=" + std::to_string(inv.size()) + " cards, " + std::to_string(vfs) + " VFs, " + std::to_string(unhealthy) +
           " not healthy; backend " + backend;
}

// Sends WATCHDOG=1 at half the interval systemd expects, while the loop is alive.
void armWatchdog(boost::asio::steady_timer& timer, std::chrono::microseconds interval, ServiceNotifier& notifier) {
    timer.expires_after(interval / 2);
    timer.async_wait([&timer, interval, &notifier](const boost::system::error_code& ec) {
        if (ec) return;
        notifier.send("WATCHDOG=1");
        armWatchdog(timer, interval, notifier);
    });
}

int fail(const Error& e) {
    log::error(e.message);
    sd_notify(0, ("STATUS=failed: " + e.message).c_str());  // on the way out: no loop to keep answering
    return 1;
}

// Another daemon owning the name must be found before anything is written.
Result<void> requireNameFree(sdbus::IConnection& connection) {
    try {
        auto driver = sdbus::createProxy(connection, "org.freedesktop.DBus", "/org/freedesktop/DBus");
        bool owned = false;
        driver->callMethod("NameHasOwner").onInterface("org.freedesktop.DBus").withArguments(std::string(bus::kBusName)).storeResultsTo(owned);
        if (owned) return makeError(Errc::Busy, std::string(bus::kBusName) + " is already owned on this bus: is another aismid running?");
    } catch (const sdbus::Error& e) {
        return makeError(Errc::ServiceUnavailable, "cannot ask the bus about " + std::string(bus::kBusName) + ": " + e.getMessage());
    }
    return {};
}

int serve(const DaemonConfig& config, const std::vector<std::string>& args) {
    std::unique_ptr<sdbus::IConnection> connection;
    try {
        connection = sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& e) {
        return fail(makeError(Errc::ServiceUnavailable, "cannot connect to the system bus: " + e.getMessage()));
    }
    if (auto free = requireNameFree(*connection); !free) return fail(free.error());
    boost::asio::io_context io;
    ServiceNotifier notifier(io);
    // The metrics port before anything is written: a port in use stops the start with nothing
    // changed. Nothing is served before the loop runs, by then the page is in place.
    MetricsEndpoint* metricsPage = nullptr;
    std::unique_ptr<HttpServer> metricsServer;
    if (config.metrics.enabled) {
        auto listening = HttpServer::listen(io, config.metrics.host, config.metrics.port, HttpServer::Limits{limits::kMaxMetricsConnections, limits::kMaxMetricsRequestBytes}, [&metricsPage](const HttpRequest& r) {
            return metricsPage ? metricsPage->handle(r) : HttpReply{503, "text/plain; charset=utf-8", "aismid is starting\n"};
        });
        if (!listening) return fail(Error{listening.error().code, "metrics endpoint: " + listening.error().message + " (--metrics-address=none turns it off)"});
        metricsServer = std::move(*listening);
        log::info("serving metrics at http://" + metricsServer->address() + "/metrics");
    }
    auto lock = StateDirLock::acquire(config.stateDir);
    if (!lock) return fail(lock.error());

    auto db = Database::open(config.stateDir);
    if (!db) return fail(db.error());
    DesiredStateRepository desired(**db);
    JournalRepository journal(**db);
    EventRepository eventRows(**db);
    JobRepository jobRows(**db);
    KnownCardRepository knownCards(**db);
    QuotaRepository quotas(**db);
    PolicyRepository policyRows(**db);
    auto backend = openBackend(config);
    if (!backend) return fail(backend.error());
    log::info("backend " + backend->description + ", state in " + (*db)->path());

    EventBus events;
    EventHistory history(events, eventRows, {config.eventsKeep, int64_t{config.eventsMaxAgeDays} * 86400, config.eventsRepeatWindowS});
    history.prune();
    events.publish(Notice{EventType::Daemon, Severity::Info, "aismid", "starting (aismid " + std::string(kAismiVersion) + ")"});
    DeviceExecutor executor(io, kWorkerThreads);
    Inventory inventory(*backend->fs, config.matches, &knownCards);
    auto found = inventory.scan();
    if (!found) return fail(found.error());
    auto adopted = inventory.adopt(std::move(*found));
    if (!adopted) return fail(adopted.error());
    for (unsigned card : adopted->moved)
        events.publish(Notice{EventType::CardMoved, Severity::Warning, inventory.info(card).label(), "card is at a new PCI address since the last start", card});
    for (unsigned card : adopted->replaced)
        events.publish(Notice{EventType::CardReplaced, Severity::Warning, inventory.info(card).label(),
                              "another card is in this slot since the last start (serial " + inventory.info(card).serial + ")", card});
    for (const auto& problem : adopted->problems) return fail(makeError(Errc::Internal, "cannot remember the cards: " + problem));
    history.addressOf = [&inventory](unsigned card, std::optional<unsigned> vf) -> std::string {
        if (card >= inventory.size()) return {};
        if (!vf) return inventory.info(card).pciAddress;
        const auto& vfs = inventory.snapshot(card).vfs;
        return *vf < vfs.size() ? vfs[*vf].pciAddress : std::string();
    };
    HealthAssessor health(healthThresholdsIn(config.health));
    Poller poller(io, inventory, executor, health, events);
    Jobs jobs(events, jobRows);
    CardChanges changes;
    VfCountService vfCount({**db, desired, journal, inventory, executor, poller, jobs, events, changes});
    PolicyService policies({policyRows, inventory, poller, events, changes});
    if (auto r = policies.load(); !r) return fail(r.error());
    auto profiles = loadProfiles(config.profilesDir);
    if (!profiles) return fail(profiles.error());
    AssignmentRepository assignmentRows(**db);
    ProvisionService provisioning({**db, desired, journal, inventory, executor, poller, events, changes, quotas, policies, assignmentRows},
                                  std::move(*profiles));
    QuotaService quotaService(quotas, events);
    ResetService resets({journal, inventory, executor, poller, events, changes});
    resets.unrestored = [&](unsigned card) -> std::string {
        const CardSnapshot& s = inventory.snapshot(card);
        if (auto want = vfCount.expectedVfCount(s.info.key); want && *want != s.vfEnabled())
            return std::to_string(s.vfEnabled()) + " of " + std::to_string(*want) + " VFs";
        std::string vfs;
        for (unsigned vf : provisioning.unrestoredVfs(card)) vfs += (vfs.empty() ? "" : ", ") + std::to_string(vf);
        return vfs.empty() ? "" : "the provisioning of VF " + vfs;
    };
    RecoveryRepository recoveryRows(**db);
    RecoveryService recovery({recoveryRows, inventory, resets, events, changes}, RecoveryService::policyIn(config));
    if (auto r = recovery.load(); !r) return fail(r.error());
    LayoutService layouts({inventory, vfCount, provisioning, jobs, events});
    auto declared = loadDeclaredLayouts(config.layoutsDir);
    if (!declared) return fail(declared.error());
    DeclaredLayouts declaredLayouts(inventory, layouts, events);
    // libvirt: its events come from its own thread and are handed to the loop; its calls run
    // on a thread of their own (libvirtCalls), joined before the hypervisor goes.
    std::function<void(const HypervisorEvent&)> onLibvirt;
    std::unique_ptr<Hypervisor> hypervisor;
    if (config.libvirtUri != "none")
        hypervisor = makeLibvirtHypervisor(config.libvirtUri, [&io, &onLibvirt](HypervisorEvent e) {
            boost::asio::post(io, [&onLibvirt, e = std::move(e)] {
                if (onLibvirt) onLibvirt(e);
            });
        });
    DeviceExecutor libvirtCalls(io, 1);
    AssignmentService assignments({**db, desired, assignmentRows, quotas, journal, inventory, executor, libvirtCalls, poller, events, changes, io,
                                   config.stateDir + "/managed-vfs"},
                                  hypervisor.get());
    onLibvirt = [&assignments](const HypervisorEvent& e) { assignments.onHypervisorEvent(e); };
    FirmwareRepository firmwareRows(**db);
    FirmwareService firmware({**db, firmwareRows, journal, inventory, executor, poller, jobs, events, resets, io},
                             {config.firmwareKeys, std::chrono::seconds(config.firmwareCheckSeconds)});

    // Reconciliation, before serving: what a crash interrupted, then desired state.
    if (auto interrupted = jobs.recover()) {
        for (const auto& line : *interrupted) events.publish(Notice{EventType::Reconcile, Severity::Warning, "aismid", line});
    } else {
        return fail(interrupted.error());
    }
    // Every service, in the order their hooks run (core/service.hpp): adding one is one line.
    const std::vector<Service*> services{&vfCount, &provisioning, &declaredLayouts, &policies, &recovery, &assignments, &resets, &firmware, &jobs, &history};
    Reconciler reconciler(journal);
    for (Service* service : services)
        if (ReconcileParticipant* participant = service->reconcileParticipant()) reconciler.add(*participant);
    const auto report = reconciler.run();
    for (const auto& line : report.actions) events.publish(Notice{EventType::Reconcile, Severity::Info, "aismid", "reconcile: " + line});
    for (const auto& line : report.unclaimed) events.publish(Notice{EventType::Reconcile, Severity::Warning, "aismid", "reconcile: " + line});
    poller.desiredVfCount = [&](const std::string& key) { return vfCount.expectedVfCount(key); };
    poller.annotators.push_back([&services](CardSnapshot& s) {
        for (Service* service : services) service->annotate(s);
    });
    poller.readAllNow();
    events.subscribe<CardReturned>([&services](const CardReturned& e) {
        for (Service* service : services) service->cardReturned(e.card);
    });
    // A store deleted or replaced under aismid refuses every change from then on (each
    // transaction checks); this makes it known even when nothing changes: once in the log and
    // the events, and as a health reason of every card (automatic resets cannot be recorded).
    bool storeLossSaid = false;
    const auto watchStore = [&] {
        if (storeLossSaid) return;
        if (auto file = (*db)->checkFile(); !file) {
            storeLossSaid = true;
            log::error(file.error().message);
            health.setDaemonProblem(file.error().message);
            events.publish(Notice{EventType::Daemon, Severity::Critical, "aismid", file.error().message});
        }
    };
    // The end of a change the store refused to record (a full disk) is written again at every
    // poll (Database::recordEnd); until it lands its card takes no other change, and every card
    // says why.
    const auto showUnrecorded = [&] {
        if (storeLossSaid) return;
        const auto waiting = (*db)->unrecordedEnds();
        health.setDaemonProblem(waiting.empty() ? std::string()
                                                : "the state store refuses writes; the end of " + text::counted(waiting.size(), "change") +
                                                      " waits to be recorded (" + waiting.front() + (waiting.size() > 1 ? ", ..." : "") +
                                                      ") and aismid writes it again at every poll");
    };
    (*db)->onEndRefused = [&](const std::string&, const Error& why) {
        events.publish(Notice{EventType::Daemon, Severity::Warning, "aismid", why.message});
        showUnrecorded();
    };
    (*db)->onEndRecorded = [&](const std::string& what) {
        events.publish(Notice{EventType::Daemon, Severity::Info, "aismid", what + ": its end is recorded now that the store takes writes again"});
        showUnrecorded();
    };
    struct ForgetHooks {  // they speak to what is destroyed before the store
        Database& db;
        ~ForgetHooks() { db.onEndRefused = nullptr, db.onEndRecorded = nullptr; }
    } forgetHooks{**db};
    events.subscribe<CardUpdated>([&](const CardUpdated& e) {
        if (e.card == 0) {  // once a poll
            watchStore();     // a stat()
            jobs.resync();    // nothing to do unless the store refused a job's row
            (*db)->retryEnds();  // nor unless it refused a change's end
        }
        for (Service* service : services) service->cardUpdated(e);
    });
    // Cards recovery reset to put them back on their committed firmware get their VFs back.
    for (unsigned card : firmware.cardsResetByRecovery()) events.publish(CardReturned{card});

    MetricsEndpoint metrics(events, inventory, poller,
                            {config.metrics.vfOwnerLabels, kAismiVersion, std::string(backendName(config.backend)), [&db]() -> std::optional<uint64_t> {
                                 auto bytes = (*db)->usedBytes();
                                 return bytes ? std::optional(*bytes) : std::nullopt;
                             }});
    metricsPage = &metrics;
    if (metricsServer) metrics.setHttpStats(&metricsServer->stats());

    int exitCode = 0;
    BusPump pump(io, *connection, [&](const std::string& why) {
        log::error("lost the system bus (" + why + "); stopping so that systemd can restart aismid");
        exitCode = 1;
        io.stop();
    });
    SdbusAuthorityClient authority(*connection, pump);
    bus::ManagerState managerState;
    managerState.version = kAismiVersion;
    managerState.backend = backendName(config.backend);
    managerState.pollIntervalMs = config.pollIntervalMs;
    managerState.metricsAddress = metricsServer ? metricsServer->address() : std::string();
    managerState.libvirtUri = config.libvirtUri;
    Authorizer authorizer(io, authority, kPolkitTimeout);
    bus::BusObjects objects(
        bus::BusContext{*connection, pump, authorizer, inventory, jobs, vfCount, provisioning, quotaService, layouts, policies, resets, recovery, assignments, firmware, history,
                        [&poller](unsigned card, std::function<void()> then) { poller.refresh(card, std::move(then)); },
                        managerState},
        events);
    objects.setRecoveryPolicy(recovery.policy());  // aismid.conf's, or the one set at run time
    try {
        // The name last: a client that sees it finds every object already in place.
        connection->requestName(bus::kBusName);
    } catch (const sdbus::Error& e) {
        return fail(makeError(Errc::Busy, std::string("cannot own ") + bus::kBusName + " on the system bus (" + e.getMessage() +
                                              "); is another aismid running?"));
    }
    poller.setStalePolls(config.health.stalePolls);
    poller.start(config.pollIntervalMs);
    assignments.start();
    declaredLayouts.set(std::move(*declared));  // jobs, run once the loop does

    boost::asio::steady_timer watchdog(io);
    uint64_t watchdogUsec = 0;
    if (sd_watchdog_enabled(0, &watchdogUsec) > 0) armWatchdog(watchdog, std::chrono::microseconds(watchdogUsec), notifier);
    boost::asio::steady_timer housekeeping(io);
    std::function<void(const boost::system::error_code&)> tidy = [&](const boost::system::error_code& ec) {
        if (ec) return;
        for (Service* service : services) service->housekeeping();
        watchStore();
        housekeeping.expires_after(kHousekeeping);
        housekeeping.async_wait(tidy);
    };
    housekeeping.expires_after(kHousekeeping);
    housekeeping.async_wait(tidy);

    Reload reload(args, config, metricsServer ? metricsServer->address() : std::string(),
                  {poller, health, metrics, objects, recovery, services});
    boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> onSignal = [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            notifier.send("RELOADING=1");
            reload.run();
            notifier.send("READY=1");
            signals.async_wait(onSignal);
            return;
        }
        events.publish(Notice{EventType::Daemon, Severity::Info, "aismid", "stopping"});
        notifier.send("STOPPING=1");
        io.stop();
    };
    signals.async_wait(onSignal);

    const std::string status = statusLine(inventory, std::string(backendName(config.backend)));
    notifier.send("READY=1\n" + status);
    log::info(status.substr(7));
    io.run();
    notifier.flush(std::chrono::seconds(1));  // STOPPING=1, if systemd has not taken it yet
    poller.stop();
    executor.stop();
    pump.stop();
    return exitCode;
}

}  // namespace

int runDaemon(const std::vector<std::string>& args) {
    auto parsed = parseDaemonConfig(args);
    if (!parsed) {
        std::cerr << "aismid: " << parsed.error().message << "\n";
        return 2;
    }
    if (parsed->exitNow) {
        std::cout << parsed->output;
        return 0;
    }
    // A write to a peer that went away (a client's socket, a log pipe whose reader restarted)
    // is an error to handle, never a reason to die: as systemd's IgnoreSIGPIPE= does for the
    // unit, also when aismid runs outside it.
    std::signal(SIGPIPE, SIG_IGN);
    // Everything aismid creates is its own (private_file.hpp): the store and its WAL, the state
    // directory, the lists it keeps, whatever umask it was started with.
    ::umask(077);
    try {
        return serve(parsed->config, args);
    } catch (const std::exception& e) {
        // Nothing may escape main: say what happened and exit non-zero for systemd to restart.
        return fail(makeError(Errc::Internal, std::string("unexpected failure: ") + e.what()));
    }
}

}  // namespace aismi
