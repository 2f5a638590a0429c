#include "daemon.hpp"

#include "authorizer.hpp"
#include "backend.hpp"
#include "bus_objects.hpp"
#include "bus_pump.hpp"
#include "daemon_config.hpp"
#include "engine.hpp"
#include "log.hpp"
#include "state_store.hpp"
#include "version.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <sdbus-c++/sdbus-c++.h>
#include <systemd/sd-daemon.h>

#include <iostream>

namespace aismi {
namespace {

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

std::string statusLine(const Engine& engine, const std::string& backend) {
    size_t vfs = 0, unhealthy = 0;
    for (const auto& c : engine.cards()) {
        vfs += c.vfs.size();
        unhealthy += c.health != Health::Ok;
    }
    return "STATUS=" + std::to_string(engine.cards().size()) + " cards, " + std::to_string(vfs) + " VFs, " +
           std::to_string(unhealthy) + " not healthy; backend " + backend;
}

// Sends WATCHDOG=1 at half the interval systemd expects, while the loop is alive.
void armWatchdog(boost::asio::steady_timer& timer, std::chrono::microseconds interval) {
    timer.expires_after(interval / 2);
    timer.async_wait([&timer, interval](const boost::system::error_code& ec) {
        if (ec) return;
        notify("WATCHDOG=1");
        armWatchdog(timer, interval);
    });
}

// A change of a card's health goes to the journal and to the event history, once per change.
void recordHealthChange(StateStore& store, const CardSnapshot& before, const CardSnapshot& now) {
    if (before.health == now.health && before.healthReasons == now.healthReasons) return;
    std::string reasons;
    for (const auto& r : now.healthReasons) reasons += (reasons.empty() ? "" : "; ") + r;
    const std::string device = "card " + std::to_string(now.index) + " (" + now.pciAddress + ")";
    const std::string message = "health " + std::string(healthName(now.health)) + (reasons.empty() ? "" : ": " + reasons);
    const char* severity = now.health == Health::Ok ? "info" : now.health == Health::Warning ? "warning" : "critical";
    if (now.health == Health::Ok) log::info(device + ": " + message);
    else log::warning(device + ": " + message);
    if (auto r = store.appendEvent(severity, device, message); !r) log::error(r.error().message);
}

int fail(const Error& e) {
    log::error(e.message);
    notify("STATUS=failed: " + e.message);
    return 1;
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
    const DaemonConfig& config = parsed->config;

    auto store = StateStore::open(config.stateDir);
    if (!store) return fail(store.error());
    auto backend = openBackend(config);
    if (!backend) return fail(backend.error());
    log::info("backend " + backend->description + ", state in " + (*store)->path());

    boost::asio::io_context io;
    Engine engine(io, **store, *backend->fs, config.matches);
    auto started = engine.start();
    if (!started) return fail(started.error());
    for (const auto& line : *started) {
        log::info("reconcile: " + line);
        (void)(*store)->appendEvent("info", "aismid", "reconcile: " + line);
    }

    std::unique_ptr<sdbus::IConnection> connection;
    try {
        connection = sdbus::createSystemBusConnection();
    } catch (const sdbus::Error& e) {
        return fail(makeError(Errc::ServiceUnavailable, "cannot connect to the system bus: " + e.getMessage()));
    }
    BusPump pump(io, *connection);
    Authorizer authorizer(*connection);
    BusObjects objects(*connection, engine, authorizer, pump, ManagerInfo{kAismiVersion, std::string(backendName(config.backend)), config.pollIntervalMs});
    engine.onCardUpdated = [&](unsigned card, const CardSnapshot& before) {
        objects.cardUpdated(card, before);
        recordHealthChange(**store, before, engine.cards().at(card));
    };
    try {
        // The name last: a client that sees it finds every object already in place.
        connection->requestName(kBusName);
    } catch (const sdbus::Error& e) {
        return fail(makeError(Errc::Busy, std::string("cannot own ") + kBusName + " on the system bus (" + e.getMessage() +
                                              "); is another aismid running?"));
    }
    engine.schedulePolling(config.pollIntervalMs);

    boost::asio::steady_timer watchdog(io);
    uint64_t watchdogUsec = 0;
    if (sd_watchdog_enabled(0, &watchdogUsec) > 0) armWatchdog(watchdog, std::chrono::microseconds(watchdogUsec));

    unsigned pollInterval = config.pollIntervalMs;
    boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> onSignal = [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            notify("RELOADING=1");
            // Only the polling interval changes live; backend and state dir need a restart.
            auto reloaded = parseDaemonConfig(args);
            if (!reloaded) log::error("reload: " + reloaded.error().message + "; keeping the running configuration");
            else if (reloaded->config.pollIntervalMs != pollInterval) {
                pollInterval = reloaded->config.pollIntervalMs;
                engine.schedulePolling(pollInterval);
                objects.setPollInterval(pollInterval);
                log::info("reload: polling every " + std::to_string(pollInterval) + " ms");
            }
            notify("READY=1");
            signals.async_wait(onSignal);
            return;
        }
        log::info("stopping");
        notify("STOPPING=1");
        engine.stop();
        pump.stop();
        watchdog.cancel();
        io.stop();
    };
    signals.async_wait(onSignal);

    const std::string status = statusLine(engine, std::string(backendName(config.backend)));
    notify("READY=1\n" + status);
    log::info(status.substr(7));
    io.run();
    return 0;
}

}  // namespace aismi
