// What assignment_service.cpp and assignment_reconcile.cpp share: the journal kinds, the
// state of one operation under way, and the device steps. Not for use outside the service.
#pragma once

#include "assignment_service.hpp"
#include "desired_state_repository.hpp"
#include "device_executor.hpp"
#include "snapshot.hpp"

#include <aismi/card.hpp>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <memory>

namespace aismi {

class Fs;

struct ReconnectTimer {
    explicit ReconnectTimer(boost::asio::io_context& loop) : timer(loop) {}
    boost::asio::steady_timer timer;
};

namespace assignment_detail {

inline constexpr const char* kBindKind = "bind-vf-driver";
inline constexpr const char* kAssignKind = "assign-vf";
inline constexpr const char* kReleaseKind = "release-vf";
inline constexpr const char* kLibvirtKey = "libvirt";
inline constexpr unsigned kMaxReconnectDelayS = 30;

using Provisioned = DesiredStateRepository::Provisioned;
using Key = std::pair<std::string, unsigned>;

inline bool has(const std::vector<PciAddress>& v, const PciAddress& a) { return std::find(v.begin(), v.end(), a) != v.end(); }

/// "'a', 'b' and 'c'".
std::string domainList(const std::vector<std::string>& names);

}  // namespace assignment_detail

struct AssignmentService::Pending {
    VfRef ref;
    CardInfo info;
    PciAddress address;
    std::string domain;
    std::string tenant;
    bool tenantGiven = false;
    std::optional<DesiredStateRepository::Provisioned> provisioned;  // the VF's provisioning before the assignment gave it a tenant
    std::string driverBefore;
    int64_t operation = 0;
    std::string what;
    std::string why;  // why aismid frees it by itself ("" for a release asked for)
    bool running = false;  // the domain runs: its tenant may use the VF from the moment it has it
    Done done;
};

// Completions check that the service still exists: a test (or a shutdown) may end it while a
// call is still on a worker.
template <class T>
void AssignmentService::viaLibvirt(std::function<Result<T>()> work, std::function<void(Result<T>)> then) {
    std::weak_ptr<bool> alive = alive_;
    d_.libvirtCalls.runOnCard<T>(assignment_detail::kLibvirtKey, std::move(work), [alive, then = std::move(then)](Result<T> r) {
        if (auto a = alive.lock(); a && *a) then(std::move(r));
    });
}

template <class T>
void AssignmentService::onDevice(const std::string& key, std::function<Result<T>()> work, std::function<void(Result<T>)> then) {
    std::weak_ptr<bool> alive = alive_;
    d_.executor.runOnCard<T>(key, std::move(work), [alive, then = std::move(then)](Result<T> r) {
        if (auto a = alive.lock(); a && *a) then(std::move(r));
    });
}

}  // namespace aismi
