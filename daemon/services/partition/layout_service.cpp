#include "layout_service.hpp"

#include "admission.hpp"

#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "jobs.hpp"
#include "provision_service.hpp"
#include "snapshot.hpp"
#include "vf_count_service.hpp"

#include <aismi/device_ref.hpp>

#include <charconv>
#include <sstream>

namespace aismi {
namespace {

constexpr unsigned kMaxLayoutVfs = 256;

}  // namespace

Result<std::vector<LayoutItem>> parseLayout(std::string_view text) {
    const auto bad = [&](const std::string& why) {
        return makeError(Errc::InvalidArgument, "layout " + quoteInput(text) + ": " + why + " (write COUNTxPROFILE,..., e.g. 4xquarter,8xeighth)");
    };
    if (text.empty()) return bad("it is empty");
    std::vector<LayoutItem> items;
    unsigned total = 0;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string_view item = text.substr(start, comma - start);
        const size_t x = item.find('x');
        if (item.empty()) return bad("an empty item");
        if (x == std::string_view::npos) return bad("'" + std::string(item.substr(0, 32)) + "' has no 'x'");
        const std::string_view count = item.substr(0, x), profile = item.substr(x + 1);
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
        if (count.empty() || ec != std::errc() || end != count.data() + count.size())
            return bad("'" + std::string(count.substr(0, 32)) + "' is not a whole number of VFs");
        if (n < 1 || n > kMaxLayoutVfs) return bad("counts are 1 to " + std::to_string(kMaxLayoutVfs) + ", not " + std::to_string(n));
        if (profile.empty()) return bad("'" + std::string(item.substr(0, 32)) + "' names no profile");
        total += n;
        if (total > kMaxLayoutVfs) return bad("more than " + std::to_string(kMaxLayoutVfs) + " VFs in all");
        items.push_back(LayoutItem{n, std::string(profile)});
        start = comma + 1;
    }
    return items;
}

std::string LayoutPlan::describe() const {
    std::ostringstream out;
    if (vfCount != vfCountBefore) {
        if (vfCountBefore) out << "disable the " << vfCountBefore << " VFs of card " << cardIndex << ", then ";
        out << "enable " << vfCount << " VFs on card " << cardIndex << "\n";
    } else {
        out << "keep the " << vfCount << " VFs of card " << cardIndex << "\n";
    }
    for (const auto& vf : vfs) {
        out << "VF " << cardIndex << ":" << vf.index << ": ";
        if (vf.unchanged) out << "left alone (" << (vf.profile.empty() ? "empty" : vf.profile) << ")\n";
        else if (vf.profile.empty()) out << "emptied\n";
        else out << "provision " << vf.profile << " (" << shapeText(vf.resources) << ")\n";
    }
    return out.str();
}

Result<LayoutPlan> LayoutService::plan(unsigned card, std::string_view layout) const {
    if (card >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(card));
    const CardSnapshot& s = d_.inventory.snapshot(card);
    const std::string what = s.info.label() + ": layout " + quoteInput(layout);
    auto items = parseLayout(layout);
    if (!items) return std::move(items).error();
    if (s.lost) return makeError(Errc::DeviceLost, what + ": the device does not answer");
    if (!s.capacity) return makeError(Errc::NotSupported, what + ": the card reports no capacity (generic mode has no provisioning)");
    LayoutPlan p;
    p.cardIndex = card;
    p.vfCountBefore = s.vfEnabled();
    for (const auto& item : *items) p.vfCount += item.count;
    if (p.vfCount > s.vfTotal)
        return makeError(Errc::OutOfRange, what + ": needs " + std::to_string(p.vfCount) + " VFs, the card supports " + std::to_string(s.vfTotal));
    Usage sum;
    for (const auto& item : *items) {
        const Profile* profile = findProfile(d_.provisioning.profiles(), item.profile);
        if (!profile) return makeError(Errc::NotFound, what + ": no profile " + quoteInput(item.profile) + " (aismi profile list shows them)");
        std::string never;
        auto r = profile->on(*s.capacity, &never);
        if (!r) return makeError(Errc::NoSpace, what + ": profile " + item.profile + " never fits this card: " + never);
        for (unsigned k = 0; k < item.count; ++k) {
            const unsigned index = static_cast<unsigned>(p.vfs.size());
            LayoutPlan::Vf vf{index, profile->name, *r, false};
            vf.unchanged = p.vfCount == p.vfCountBefore && index < s.vfs.size() && s.vfs[index].profile == profile->name &&
                           s.vfs[index].resources == std::optional<Resources>(*r);
            p.vfs.push_back(vf);
            sum.add(*r);
        }
    }
    // The layout is the whole card: it is admitted on its own, under the card's policy.
    const Oversubscription policy = d_.provisioning.policy(s.info.key);
    if (auto refusal = exceeds(Limits::of(*s.capacity, policy), policy, Usage{}, sum)) return makeError(Errc::NoSpace, what + ": " + *refusal);
    // A VF provisioned for a tenant is not re-laid out under it.
    if (p.vfCount == p.vfCountBefore)
        for (const auto& vf : p.vfs)
            if (!vf.unchanged && vf.index < s.vfs.size() && !s.vfs[vf.index].tenant.empty())
                return makeError(Errc::InvalidState, what + ": VF " + std::to_string(vf.index) + " is provisioned for tenant " +
                                                         s.vfs[vf.index].tenant + " (unprovision it first)");
    // Replacing the VFs destroys them: not while one is in use.
    if (p.vfCount != p.vfCountBefore)
        for (const auto& vf : s.vfs) {
            if (vf.driver == "vfio-pci")
                return makeError(Errc::InvalidState, what + ": VF " + std::to_string(vf.index) + " is bound to vfio-pci (assigned?); the layout needs the VFs replaced");
            if (!vf.tenant.empty())
                return makeError(Errc::InvalidState, what + ": VF " + std::to_string(vf.index) + " is provisioned for tenant " + vf.tenant +
                                                         "; the layout needs the VFs replaced (unprovision it first)");
        }
    return p;
}

// One application: the plan, where it stands, and what to go back to.
struct LayoutService::Run {
    LayoutPlan plan;
    int64_t job = 0;
    std::string cardKey;
    size_t next = 0;            // steps: 0 the VF count, then every touched VF emptied, then the provisioned
    std::vector<size_t> order;  // indexes into plan.vfs of the VFs to provision
    std::vector<std::pair<unsigned, std::string>> before;  // each touched VF and the profile it had ("" none)
    // When the VFs are replaced: the old VFs aismid had emptied or provisioned, as they were
    // (profile, or "" for emptied), to clear before and to put back on a rollback.
    std::vector<std::pair<unsigned, std::string>> old;
    size_t cleared = 0;  // how many of `old` were emptied before the count changed
    std::function<void(Result<void>)> done;
    bool rollingBack = false;
};

Result<int64_t> LayoutService::apply(unsigned card, std::string_view layout, std::function<void(Result<void>)> done) {
    auto p = plan(card, layout);
    if (!p) return std::move(p).error();
    auto run = std::make_shared<Run>();
    run->plan = *p;
    run->cardKey = d_.inventory.info(card).key;
    run->done = std::move(done);
    // Every VF the plan touches is emptied first, so the new shapes fit whatever the old ones
    // held (new VFs come with the driver's even split); then the provisioned ones get theirs.
    // What each had is kept for a rollback of a kept count.
    const CardSnapshot& s = d_.inventory.snapshot(card);
    if (p->vfCount != p->vfCountBefore)
        for (const auto& vf : s.vfs) {
            if (!vf.profile.empty()) run->old.emplace_back(vf.index, vf.profile);
            else if (vf.resources && vf.resources->computeUnits == 0) run->old.emplace_back(vf.index, "");
        }
    for (size_t i = 0; i < p->vfs.size(); ++i) {
        if (p->vfs[i].unchanged) continue;
        const bool kept = p->vfCount == p->vfCountBefore;
        run->before.emplace_back(p->vfs[i].index, kept && i < s.vfs.size() ? s.vfs[i].profile : "");
        if (!p->vfs[i].profile.empty()) run->order.push_back(i);
    }
    const std::string label = d_.inventory.info(card).label();
    auto job = d_.jobs.create("apply-layout", label, kActionManageVfs, [] { return makeError(Errc::InvalidState, "a layout cannot be cancelled once it runs"); });
    if (!job) return std::move(job).error();
    run->job = *job;
    d_.jobs.start(*job);
    d_.events.publish(Notice{Severity::Info, label, "applying layout " + std::string(layout)});
    step(run);
    return *job;
}

void LayoutService::step(std::shared_ptr<Run> run) {
    const unsigned card = run->plan.cardIndex;
    const size_t total = 1 + run->before.size() + run->order.size();
    d_.jobs.progress(run->job, static_cast<unsigned>(100 * run->next / (total + 1)));
    const auto after = [this, run](Result<void> r) {
        if (!r) return rollback(run, std::move(r).error());
        ++run->next;
        step(run);
    };
    // 0: the VF count, when it changes (the old VFs' profiles go first: the count does not
    // change under provisioned VFs).
    if (run->next == 0) {
        if (run->plan.vfCount == run->plan.vfCountBefore) {
            ++run->next;
            return step(run);
        }
        while (run->cleared < run->old.size() && run->old[run->cleared].second.empty()) ++run->cleared;
        if (run->cleared < run->old.size()) {
            const unsigned vf = run->old[run->cleared++].first;
            return d_.provisioning.unprovision(VfRef{card, vf}, [this, run](Result<void> r) {
                if (!r) return rollback(run, std::move(r).error());
                step(run);
            });
        }
        const unsigned count = run->plan.vfCount;
        auto chain = [this, card, count, after](Result<void> off) {
            if (!off) return after(off);
            auto on = d_.vfCount.setVfCount(card, count, after);
            if (!on) after(std::move(on).error());
        };
        if (run->plan.vfCountBefore == 0) return chain(Result<void>());
        auto off = d_.vfCount.setVfCount(card, 0, chain);
        if (!off) after(std::move(off).error());
        return;
    }
    // Then the VFs a kept count has, emptied; then each VF the plan changes.
    size_t i = run->next - 1;
    if (i < run->before.size()) return d_.provisioning.unprovision(VfRef{card, run->before[i].first}, after);
    i -= run->before.size();
    if (i < run->order.size()) {
        const auto& vf = run->plan.vfs[run->order[i]];
        return d_.provisioning.provision(VfRef{card, vf.index}, vf.profile, "", after);
    }
    d_.events.publish(Notice{Severity::Info, d_.inventory.info(card).label(), "layout applied"});
    d_.jobs.finish(run->job, Result<void>());
    if (run->done) run->done(Result<void>());
}

void LayoutService::rollback(std::shared_ptr<Run> run, Error why) {
    const unsigned card = run->plan.cardIndex;
    const std::string label = d_.inventory.info(card).label();
    const auto finish = [this, run, why, label](const std::string& rollbackOutcome) {
        d_.events.publish(Notice{Severity::Warning, label, "layout failed: " + why.message + "; " + rollbackOutcome});
        Error e = why;
        e.message = "applying the layout failed: " + why.message + "; " + rollbackOutcome;
        d_.jobs.finish(run->job, e);
        if (run->done) run->done(e);
    };
    if (run->rollingBack) return finish("the rollback failed too");
    run->rollingBack = true;
    // Puts each VF of `list` back as it was, emptied ones first, one after the other; then `then`.
    auto restore = [this, card, finish](std::vector<std::pair<unsigned, std::string>> list, std::function<void()> then) {
        auto remaining = std::make_shared<std::vector<std::pair<unsigned, std::string>>>();
        for (const auto& b : list)
            if (b.second.empty()) remaining->push_back(b);
        for (const auto& b : list)
            if (!b.second.empty()) remaining->push_back(b);
        auto next = std::make_shared<std::function<void(size_t)>>();
        *next = [this, card, remaining, next, finish, then](size_t k) {
            if (k == remaining->size()) {
                auto last = then;
                *next = nullptr;  // the chain ends: no cycle left behind
                return last();
            }
            const auto [vf, profile] = (*remaining)[k];
            auto cont = [next, k, finish](Result<void> r) {
                if (!r) return finish("rolling back failed: " + r.error().message);
                (*next)(k + 1);
            };
            if (profile.empty()) d_.provisioning.unprovision(VfRef{card, vf}, cont);
            else d_.provisioning.provision(VfRef{card, vf}, profile, "", cont);
        };
        (*next)(0);
    };
    if (run->plan.vfCount == run->plan.vfCountBefore) {
        // Only what the steps done so far changed (the failed step changed nothing): the VFs
        // emptied so far, which includes every VF provisioned so far.
        const size_t emptied = run->next == 0 ? 0 : std::min(run->next - 1, run->before.size());
        std::vector<std::pair<unsigned, std::string>> changed(run->before.begin(), run->before.begin() + static_cast<long>(emptied));
        return restore(changed, [finish] { finish("rolled back to the layout it had"); });
    }
    // The VFs were replaced (or about to be): the old count back, then the old VFs' profiles.
    const unsigned count = run->plan.vfCountBefore;
    auto back = [this, card, count, run, restore, finish](Result<void> off) {
        if (!off) return finish("rolling back failed: " + off.error().message);
        if (count == 0) return finish("rolled back to no VFs");
        auto again = [restore, run, finish, count](Result<void> r) {
            if (!r) return finish("rolling back failed: " + r.error().message);
            restore(run->old, [finish, count] { finish("rolled back to " + std::to_string(count) + " VFs and the layout they had"); });
        };
        if (d_.inventory.snapshot(card).vfEnabled() == count) return again(Result<void>());
        auto on = d_.vfCount.setVfCount(card, count, again);
        if (!on) again(std::move(on).error());
    };
    const CardSnapshot& s = d_.inventory.snapshot(card);
    if (s.vfEnabled() == 0 || s.vfEnabled() == count) return back(Result<void>());
    // What this run provisioned on the new VFs goes first: the count does not change under it.
    std::vector<std::pair<unsigned, std::string>> provisioned;
    for (const auto& vf : s.vfs)
        if (!vf.profile.empty()) provisioned.emplace_back(vf.index, "");
    restore(provisioned, [this, card, back] {
        auto off = d_.vfCount.setVfCount(card, 0, back);
        if (!off) back(std::move(off).error());
    });
}

}  // namespace aismi
