#include "layout_service.hpp"

#include "admission.hpp"

#include "event_bus.hpp"
#include "event_repository.hpp"
#include "events.hpp"
#include "inventory.hpp"
#include "limits.hpp"
#include "jobs.hpp"
#include "provision_service.hpp"
#include "snapshot.hpp"
#include "vf_count_service.hpp"
#include "vf_in_use.hpp"

#include <aismi/text.hpp>
#include <aismi/device_ref.hpp>

#include <charconv>
#include <sstream>

namespace aismi {
namespace {

using limits::kMaxLayoutVfs;

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
        std::string_view item = text.substr(start, comma - start);
        // "4xquarter, 8xeighth": blanks around an item are no part of it.
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
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
    if (auto ok = requireProvisionable(s, what); !ok) return std::move(ok).error();
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
            if (vfTakenByConsumer(vf))
                return makeError(Errc::InvalidState, what + ": VF " + std::to_string(vf.index) + ": " + vfioBindingText(vf) + "; the layout needs the VFs replaced");
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
    enum class Phase { CountOff, CountOn, Provision, Done } phase = Phase::CountOff;
    std::vector<std::pair<unsigned, std::string>> batch;  // every VF the plan changes, and its profile ("" emptied)
    // When the VFs are replaced: the old VFs aismid had emptied or provisioned, as they were
    // (profile, or "" for emptied), to put back on a rollback.
    std::vector<std::pair<unsigned, std::string>> old;
    std::function<void(Result<void>)> done;
    bool rollingBack = false;
};

Result<int64_t> LayoutService::apply(unsigned card, std::string_view layout, std::function<void(Result<void>)> done) {
    auto p = plan(card, layout);
    if (!p) return std::move(p).error();
    auto run = std::make_shared<Run>();
    run->plan = *p;
    run->done = std::move(done);
    const CardSnapshot& s = d_.inventory.snapshot(card);
    if (p->vfCount != p->vfCountBefore)
        for (const auto& vf : s.vfs) {
            if (!vf.profile.empty()) run->old.emplace_back(vf.index, vf.profile);
            else if (vf.resources && vf.resources->computeUnits == 0) run->old.emplace_back(vf.index, "");
        }
    for (const auto& vf : p->vfs)
        if (!vf.unchanged) run->batch.emplace_back(vf.index, vf.profile);
    run->phase = p->vfCount == p->vfCountBefore ? Run::Phase::Provision : p->vfCountBefore ? Run::Phase::CountOff : Run::Phase::CountOn;
    const std::string label = d_.inventory.info(card).label();
    auto job = d_.jobs.create("apply-layout", label, kActionManageVfs, [] { return makeError(Errc::InvalidState, "a layout cannot be cancelled once it runs"); });
    if (!job) return std::move(job).error();
    run->job = *job;
    d_.jobs.start(*job);
    d_.events.publish(Notice{EventType::Layout, Severity::Info, label, "applying layout " + std::string(layout), card});
    step(run);
    return *job;
}

void LayoutService::step(std::shared_ptr<Run> run) {
    // The VF count when it changes (off, then on: the kernel's rule), then every VF the plan
    // changes as one provisioning batch (all or nothing on its own).
    const unsigned card = run->plan.cardIndex;
    d_.jobs.progress(run->job, static_cast<unsigned>(run->phase) * 30);
    const auto next = [this, run](Run::Phase phase) {
        return [this, run, phase](Result<void> r) {
            if (!r) return rollback(run, std::move(r).error());
            run->phase = phase;
            step(run);
        };
    };
    switch (run->phase) {
    case Run::Phase::CountOff:
        if (auto off = d_.vfCount.setVfCount(card, 0, next(Run::Phase::CountOn)); !off) rollback(run, std::move(off).error());
        return;
    case Run::Phase::CountOn:
        if (auto on = d_.vfCount.setVfCount(card, run->plan.vfCount, next(Run::Phase::Provision)); !on) rollback(run, std::move(on).error());
        return;
    case Run::Phase::Provision:
        if (run->batch.empty()) return next(Run::Phase::Done)(Result<void>());
        return d_.provisioning.provisionBatch(card, run->batch, next(Run::Phase::Done));
    case Run::Phase::Done: break;
    }
    // Applied; a VF whose scrub failed is out of use until one succeeds, and the caller hears it.
    std::vector<std::string> unscrubbed;
    for (const auto& [vf, profile] : run->batch)
        if (const VfSnapshot* s = d_.inventory.vf(VfRef{card, vf}); s && s->scrubPending && s->domain().empty())
            unscrubbed.push_back(std::to_string(card) + ":" + std::to_string(vf));
    Result<void> outcome;
    if (!unscrubbed.empty())
        outcome = makeError(Errc::ResetFailed, "the layout is applied, but the reset and scrub of VF " + text::join(unscrubbed, ", ") +
                                                   " failed: out of use until a scrub succeeds (aismid tries again by itself; aismi vf release tries now; aismi events says why)");
    d_.events.publish(Notice{EventType::Layout, outcome ? Severity::Info : Severity::Warning, d_.inventory.info(card).label(),
                             outcome ? std::string("layout applied") : outcome.error().message, card});
    d_.jobs.finish(run->job, outcome);
    if (run->done) run->done(outcome);
}

void LayoutService::rollback(std::shared_ptr<Run> run, Error why) {
    const unsigned card = run->plan.cardIndex;
    const std::string label = d_.inventory.info(card).label();
    const auto finish = [this, run, why, label, card](const std::string& rollbackOutcome) {
        d_.events.publish(Notice{EventType::Layout, Severity::Warning, label, "layout failed: " + why.message + "; " + rollbackOutcome, card});
        Error e = why;
        e.message = "applying the layout failed: " + why.message + "; " + rollbackOutcome;
        d_.jobs.finish(run->job, e);
        if (run->done) run->done(e);
    };
    if (run->rollingBack) return finish("the rollback failed too");
    run->rollingBack = true;
    // A batch that fails puts its VFs back itself, and a VF count change that fails leaves the
    // count (and the provisioning that went with the VFs) as it was: with the count kept, or
    // before it changed, the card is as it was.
    const unsigned count = run->plan.vfCountBefore;
    if (run->plan.vfCount == count || d_.inventory.snapshot(card).vfEnabled() == count) return finish("rolled back to the layout it had");
    // The VFs were replaced: the old count back, then the old VFs' profiles.
    auto restore = [this, card, run, finish, count](Result<void> r) {
        if (!r) return finish("rolling back failed: " + r.error().message);
        if (count == 0 || run->old.empty()) return finish("rolled back to " + text::counted(count, "VF"));
        d_.provisioning.provisionBatch(card, run->old, [finish, count](Result<void> back) {
            if (!back) return finish("rolling back failed: " + back.error().message);
            finish("rolled back to " + std::to_string(count) + " VFs and the layout they had");
        });
    };
    auto on = [this, card, count, restore](Result<void> off) {
        if (!off) return restore(off);
        if (count == 0) return restore(Result<void>());
        if (auto r = d_.vfCount.setVfCount(card, count, restore); !r) restore(std::move(r).error());
    };
    if (d_.inventory.snapshot(card).vfEnabled() == 0) return on(Result<void>());
    if (auto r = d_.vfCount.setVfCount(card, 0, on); !r) on(std::move(r).error());
}

}  // namespace aismi
