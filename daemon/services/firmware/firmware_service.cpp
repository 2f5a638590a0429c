#include "firmware_service.hpp"

#include "conf_dir.hpp"
#include "limits.hpp"

#include "database.hpp"
#include "device_executor.hpp"
#include "event_bus.hpp"
#include "events.hpp"
#include "firmware_internal.hpp"
#include "inventory.hpp"
#include "jobs.hpp"
#include "journal_repository.hpp"
#include "poller.hpp"
#include "reset_service.hpp"
#include "snapshot.hpp"
#include "vf_in_use.hpp"

#include <aismi/card.hpp>
#include <aismi/firmware_image.hpp>
#include <aismi/firmware_upload.hpp>
#include <aismi/text.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

namespace aismi {

using namespace firmware_detail;

namespace {

constexpr unsigned kResetAttempts = 300;  // x kResetRetry: a minute
constexpr std::chrono::milliseconds kResetRetry{200};
constexpr unsigned kWriteStart = 2, kWriteEnd = 80, kVerified = 85, kArmed = 88, kReset = 92, kChecking = 95;


// "5.083 s": the write's duration is what bench/firmware-update compares with the device's.
std::string seconds(std::chrono::steady_clock::duration d) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f s", std::chrono::duration<double>(d).count());
    return text;
}

}  // namespace

Result<std::vector<std::string>> loadTrustedKeys(const std::string& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec))
        return makeError(Errc::ConfigInvalid, "firmware keys: cannot read " + dir + ": not a directory (--firmware-keys)");
    auto files = readConfDir(dir, ".pem", limits::kMaxKeyFileBytes);
    if (!files) return makeError(Errc::ConfigInvalid, "firmware keys: " + files.error().message + " (--firmware-keys)");
    std::vector<std::string> keys;
    for (auto& [path, text] : *files) keys.push_back(std::move(text));
    if (keys.empty())
        return makeError(Errc::ConfigInvalid, "firmware keys: " + dir + " holds no trusted key (*.pem); no image can be trusted (--firmware-keys)");
    return keys;
}

FirmwareService::FirmwareService(Deps deps, Settings settings) : d_(deps), s_(std::move(settings)) {}
FirmwareService::~FirmwareService() { *alive_ = false; }

std::vector<std::string> FirmwareService::kinds() const { return firmware_detail::kinds(); }

void FirmwareService::after(std::chrono::milliseconds delay, std::function<void()> then) {
    auto timer = std::make_shared<boost::asio::steady_timer>(d_.io, delay);
    std::weak_ptr<bool> alive = alive_;
    timer->async_wait([timer, alive, then = std::move(then)](const boost::system::error_code& ec) {
        if (auto a = alive.lock(); !ec && a && *a) then();
    });
}

Result<FirmwareService::CheckedImage> FirmwareService::checkImage(const std::vector<uint8_t>& bytes, const std::string& keysDir) {
    auto image = firmware::parse(bytes);
    if (!image) return Error{image.error().code, "the image is not usable: " + image.error().message};
    auto keys = loadTrustedKeys(keysDir);
    if (!keys) return std::move(keys).error();
    if (auto v = firmware::verifySignature(*image, *keys); !v) return std::move(v).error().context("the image is refused");
    return CheckedImage{image->vendor, image->device, image->version, text::hex(image->sha256)};
}

Result<int64_t> FirmwareService::update(UpdateRequest req, Done done) {
    if (req.card >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(req.card));
    const CardSnapshot& card = d_.inventory.snapshot(req.card);
    const CardInfo info = card.info;
    const std::string what = info.label() + ": firmware update";
    // Everything about the image first: nothing touches the card before it is trusted.
    if (!req.checked) {
        auto checked = checkImage(req.image, s_.keysDir);
        if (!checked) return std::move(checked).error().context(what);
        req.checked = std::move(*checked);
    }
    const CheckedImage* image = &*req.checked;
    if (image->vendor != info.vendorId || image->device != info.deviceId) {
        char want[16], got[16];
        std::snprintf(want, sizeof want, "%04x:%04x", info.vendorId, info.deviceId);
        std::snprintf(got, sizeof got, "%04x:%04x", image->vendor, image->device);
        return makeError(Errc::InvalidArgument, what + ": the image is for device " + got + ", and this card is " + want);
    }
    if (auto r = requireUpdatable(card, what); !r) return std::move(r).error();
    if (auto r = requireSettled(info.key, what); !r) return std::move(r).error();
    const FirmwareState& fw = *card.firmware;
    if (!req.allowOlder && firmware::compareVersions(image->version, fw.activeVersion()) < 0)
        return makeError(Errc::InvalidArgument, what + ": the image holds version " + image->version + ", older than the running " + fw.activeVersion() +
                                                    " (--allow-older installs it anyway)");
    if (!req.allowReinstall && firmware::compareVersions(image->version, fw.activeVersion()) == 0)
        return makeError(Errc::InvalidArgument, what + ": the card runs version " + image->version + " already (--allow-reinstall installs it again)");
    if (auto r = requireIdleFirmware(card, what); !r) return std::move(r).error();
    if (auto it = runs_.find(info.key); it != runs_.end()) return makeError(Errc::Busy, what + ": " + it->second->describe() + " is under way on this card");
    if (req.activate == FirmwareUpdate::Activation::Now && !req.force)
        if (const auto blockers = vfsInUse(card, false); !blockers.empty())
            return makeError(Errc::Busy, what + ": --activate=now resets the card, and VFs are in use (" + text::join(blockers, ", ") +
                                             "); --activate=idle waits for them, --force resets anyway");

    // The intent before the device: the job, the record and the journal entry.
    auto run = std::make_shared<Run>();
    run->card = req.card;
    run->info = info;
    run->force = req.force;
    run->done = std::move(done);
    run->row.cardKey = info.key;
    run->row.kind = FirmwareUpdate::Kind::Update;
    run->row.fromVersion = fw.activeVersion();
    run->row.fromBank = fw.activeBank;
    run->row.toVersion = image->version;
    run->row.toBank = 1 - fw.activeBank;
    run->row.sha256 = image->sha256;
    run->row.activate = req.activate;
    run->row.reason = "writing bank " + std::to_string(run->row.toBank);
    auto cancelFlag = run->cancel;
    std::weak_ptr<Run> weak = run;
    auto job = d_.jobs.create(kJobUpdate, info.label(), kActionUpdateFirmware, [weak]() -> Result<void> {
        auto r = weak.lock();
        if (!r) return makeError(Errc::InvalidState, "the update has ended");
        if (r->stage != Run::Stage::Writing && r->stage != Run::Stage::Waiting)
            return makeError(Errc::Busy, "the card is being activated; the update cannot be cancelled now");
        if (r->stage == Run::Stage::Waiting) {
            r->cancelWaiting = true;
            return {};
        }
        r->cancel->store(true);  // the device refuses while programming: the write then completes
        return {};
    });
    if (!job) return std::move(job).error().context(what);
    run->job = *job;
    run->row.job = *job;
    auto recorded = begin(*run, kWriteKind, kStepWrite);
    if (!recorded) {
        d_.jobs.finish(*job, recorded.error());
        return std::move(recorded).error().context(what);
    }
    runs_[info.key] = run;
    d_.jobs.start(*job);
    d_.events.publish(Notice{EventType::Firmware, Severity::Info, info.label(),
                             "update " + std::to_string(run->row.id) + ": writing " + image->version + " to bank " + std::to_string(run->row.toBank) +
                                 " (the card runs " + bankText(fw.activeBank, fw.activeVersion()) + "; its VFs keep running)",
                             req.card});
    write(run, std::move(req.image));
    return *job;
}

void FirmwareService::updateFromFd(int fd, UpdateRequest request, std::function<void(Result<int64_t>)> started, Done done) {
    auto owned = std::shared_ptr<int>(new int(fd), [](int* f) {
        if (*f >= 0) ::close(*f);
        delete f;
    });
    if (request.card >= d_.inventory.size()) return started(makeError(Errc::NotFound, "no card " + std::to_string(request.card)));
    const CardInfo& info = d_.inventory.info(request.card);
    struct Read {
        std::vector<uint8_t> bytes;
        CheckedImage checked;
    };
    // One strand per card: a read that never returns holds up this card's update only.
    onCard<Read>(
        "firmware-image/" + info.key,
        [owned, keysDir = s_.keysDir, what = info.label() + ": firmware update"]() -> Result<Read> {
            // Only a regular file: a pipe or a socket could keep the worker waiting forever.
            struct stat st {};
            if (::fstat(*owned, &st) != 0) return Error::fromErrno(errno, "firmware update: the image's file descriptor");
            if (!S_ISREG(st.st_mode)) return makeError(Errc::InvalidArgument, "firmware update: the image must be a regular file (not a pipe, socket or device)");
            const uint64_t limit = firmware::kHeaderSize + firmware::kMaxPayloadSize + firmware::kSignatureSize;
            if (static_cast<uint64_t>(st.st_size) > limit)
                return makeError(Errc::InvalidArgument,
                                 "firmware update: the image is " + std::to_string(st.st_size) + " bytes; an image holds at most " + std::to_string(limit));
            Read read;
            read.bytes.resize(static_cast<size_t>(st.st_size));
            size_t at = 0;
            while (at < read.bytes.size()) {
                const ssize_t n = ::pread(*owned, read.bytes.data() + at, read.bytes.size() - at, static_cast<off_t>(at));
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) return Error::fromErrno(errno, "firmware update: reading the image");
                if (n == 0) break;  // shorter than it was: the parse says truncated
                at += static_cast<size_t>(n);
            }
            read.bytes.resize(at);
            // The checks that read every byte, here rather than on the loop.
            auto checked = checkImage(read.bytes, keysDir);
            if (!checked) return std::move(checked).error().context(what);
            read.checked = std::move(*checked);
            return read;
        },
        [this, request = std::move(request), started = std::move(started), done = std::move(done)](Result<Read> read) mutable {
            if (!read) return started(std::move(read).error());
            request.image = std::move(read->bytes);
            request.checked = std::move(read->checked);
            started(update(std::move(request), std::move(done)));
        });
}

Result<void> FirmwareService::begin(Run& run, const char* kind, const char* step) {
    return d_.db.transaction([&]() -> Result<void> {
        if (run.row.id == 0) {
            auto id = d_.updates.add(run.row);
            if (!id) return std::move(id).error();
            run.row.id = *id;
            if (run.row.kind == FirmwareUpdate::Kind::Update)
                if (auto s = d_.updates.supersede(run.row.cardKey, *id, "replaced: update " + std::to_string(*id) + " writes bank " + std::to_string(run.row.toBank)); !s)
                    return s;
        } else if (auto r = d_.updates.set(run.row.id, run.row.state, run.row.reason); !r) {
            return r;
        } else if (auto j = d_.updates.setJob(run.row.id, run.job); !j) {
            return j;
        }
        auto entry = d_.journal.begin(kind, run.info.key, Payload::of(run.row).encode(), step);
        if (!entry) return std::move(entry).error();
        run.journal = *entry;
        return {};
    });
}

void FirmwareService::write(std::shared_ptr<Run> run, std::vector<uint8_t> image) {
    run->stage = Run::Stage::Writing;
    const auto started = std::chrono::steady_clock::now();
    auto progress = std::make_shared<std::atomic<unsigned>>(kWriteStart);
    // Progress comes from the worker as it polls the device; the loop publishes it.
    auto image_ = std::make_shared<std::vector<uint8_t>>(std::move(image));
    std::weak_ptr<bool> alive = alive_;
    boost::asio::io_context& io = d_.io;
    Jobs& jobs = d_.jobs;
    const int64_t job = run->job;
    onCard<FirmwareState>(
        run->info.key,
        [device = d_.inventory.device(run->card), &fs = d_.inventory.fs(), pf = run->info.address, image_, cancel = run->cancel, alive, &io, &jobs, job,
         expect = run->row]() -> Result<FirmwareState> {
            auto upload = FirmwareUpload::find(fs, pf);
            if (!upload) return std::move(upload).error();
            if (auto r = upload->start(*image_); !r) return r.error();
            unsigned last = kWriteStart;
            FirmwareUpload::Wait how;
            how.cancelRequested = [cancel] { return cancel->load(); };
            how.progress = [&](const FirmwareUpload::Status& s) {
                const uint64_t size = image_->size();
                const unsigned pct = s.phase == "programming" ? kWriteEnd - 5
                                                              : kWriteStart + static_cast<unsigned>((kWriteEnd - 5 - kWriteStart) * (size - std::min(size, s.remaining)) / std::max<uint64_t>(1, size));
                if (pct == last) return;
                last = pct;
                boost::asio::post(io, [alive, &jobs, job, pct] {
                    if (auto a = alive.lock(); a && *a) jobs.progress(job, pct);
                });
            };
            if (auto r = upload->wait(how); !r) return r.error();
            // Read back what the bank holds: the device's word for version, hash and integrity.
            auto fw = device->firmware();
            if (!fw) return std::move(fw).error();
            const FirmwareBank& bank = fw->banks[expect.toBank];
            if (!bank.integrityOk || bank.version != expect.toVersion || bank.sha256 != expect.sha256)
                return makeError(Errc::VerifyFailed, "bank " + std::to_string(expect.toBank) + " reads back " + (bank.integrityOk ? "intact" : "damaged") +
                                                         ", version " + (bank.version.empty() ? "(none)" : bank.version) + ", sha256 " +
                                                         (bank.sha256.empty() ? "(none)" : bank.sha256.substr(0, 16)) + "...; expected " + expect.toVersion + ", " +
                                                         expect.sha256.substr(0, 16) + "...");
            return *fw;
        },
        [this, run, started, size = image_->size()](Result<FirmwareState> written) {
            if (!written) {
                const bool cancelled = written.error().code == Errc::Cancelled;
                return end(run, cancelled ? FirmwareUpdate::State::Failed : FirmwareUpdate::State::Failed,
                           (cancelled ? "cancelled while writing bank " : "writing bank ") + std::to_string(run->row.toBank) + " failed: " + written.error().message +
                               "; the card runs " + bankText(run->row.fromBank, run->row.fromVersion) + " as before",
                           Error{written.error().code, run->info.label() + ": firmware update: " + written.error().message});
            }
            const auto took = std::chrono::steady_clock::now() - started;
            run->writeSeconds = std::chrono::duration<double>(took).count();
            run->bytes = size;
            d_.jobs.progress(run->job, kVerified);
            d_.events.publish(Notice{EventType::Firmware, Severity::Info, run->info.label(),
                                     "update " + std::to_string(run->row.id) + ": bank " + std::to_string(run->row.toBank) + " holds " + run->row.toVersion +
                                         " (hash read back and matched) after " + seconds(took),
                                     run->card});
            staged(run);
        });
}

void FirmwareService::staged(std::shared_ptr<Run> run) {
    run->row.state = FirmwareUpdate::State::Staged;
    run->row.reason = "written to bank " + std::to_string(run->row.toBank) + " and verified; not activated yet";
    // Written and verified: nothing is left for recovery; the record says it is staged.
    if (auto r = d_.db.transaction([&]() -> Result<void> {
            if (auto s = d_.updates.set(run->row.id, run->row.state, run->row.reason); !s) return s;
            return d_.journal.finish(run->journal, "staged in bank " + std::to_string(run->row.toBank));
        });
        !r)
        return end(run, FirmwareUpdate::State::Failed, r.error().message, r.error());
    switch (run->row.activate) {
    case FirmwareUpdate::Activation::Never:
        run->stage = Run::Stage::Staged;
        d_.events.publish(Notice{EventType::Firmware, Severity::Info, run->info.label(),
                                 "update " + std::to_string(run->row.id) + ": " + run->row.toVersion + " is staged in bank " + std::to_string(run->row.toBank) +
                                     "; 'aismi firmware activate' runs it",
                                 run->card});
        return finishJob(run, {});
    case FirmwareUpdate::Activation::Idle:
        if (const auto blockers = vfsInUse(d_.inventory.snapshot(run->card), false); !blockers.empty()) {
            run->stage = Run::Stage::Waiting;
            d_.jobs.progress(run->job, kVerified + 1);
            d_.events.publish(Notice{EventType::Firmware, Severity::Info, run->info.label(),
                                     "update " + std::to_string(run->row.id) + ": staged; activation waits until no VF is in use (" + text::join(blockers, ", ") + ")",
                                     run->card});
            return;  // watch() starts it
        }
        return arm(run);
    case FirmwareUpdate::Activation::Now: return arm(run);
    }
}

void FirmwareService::watch(unsigned card, const CardSnapshot& now) {
    retryUnsettled(card, now);
    auto it = runs_.find(now.info.key);
    if (it == runs_.end() || it->second->stage != Run::Stage::Waiting) return;
    auto run = it->second;
    if (run->cancelWaiting) {
        run->row.state = FirmwareUpdate::State::Staged;
        run->stage = Run::Stage::Staged;
        (void)d_.updates.set(run->row.id, FirmwareUpdate::State::Staged, "staged; waiting for idle was cancelled: 'aismi firmware activate' runs it");
        runs_.erase(it);
        const Error cancelled = makeError(Errc::Cancelled, run->info.label() + ": firmware update: cancelled while waiting for the card to be idle; " +
                                                               run->row.toVersion + " stays staged in bank " + std::to_string(run->row.toBank));
        d_.jobs.finish(run->job, cancelled);
        if (run->done) run->done(cancelled);
        return;
    }
    if (now.lost || !vfsInUse(now, false).empty()) return;
    (void)card;
    arm(run);
}

Result<int64_t> FirmwareService::activate(unsigned cardIndex, bool force, Done done) {
    if (cardIndex >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(cardIndex));
    const CardInfo info = d_.inventory.info(cardIndex);
    const std::string what = info.label() + ": firmware activation";
    if (auto it = runs_.find(info.key); it != runs_.end()) {
        if (it->second->stage != Run::Stage::Waiting) return makeError(Errc::Busy, what + ": " + it->second->describe() + " is under way on this card");
        // An update waiting for idle: activated now, by its own job.
        auto run = it->second;
        if (!force)
            if (const auto blockers = vfsInUse(d_.inventory.snapshot(cardIndex), false); !blockers.empty())
                return makeError(Errc::Busy, what + ": VFs are in use (" + text::join(blockers, ", ") + "); --force resets the card anyway");
        arm(run);
        return run->job;
    }
    auto open = d_.updates.openFor(info.key);
    if (!open) return std::move(open).error().context(what);
    if (!*open || (*open)->state != FirmwareUpdate::State::Staged)
        return makeError(Errc::NotFound, what + ": no update is staged on this card ('aismi firmware update --activate=never' stages one)");
    return startActivation(cardIndex, **open, force, std::move(done), kJobActivate);
}

Result<int64_t> FirmwareService::rollback(unsigned cardIndex, bool force, Done done) {
    if (cardIndex >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(cardIndex));
    const CardSnapshot& card = d_.inventory.snapshot(cardIndex);
    const std::string what = card.info.label() + ": firmware rollback";
    if (auto r = requireUpdatable(card, what); !r) return std::move(r).error();
    const FirmwareState& fw = *card.firmware;
    const unsigned other = 1 - fw.activeBank;
    if (!fw.banks[other].integrityOk || fw.banks[other].version.empty())
        return makeError(Errc::InvalidState, what + ": bank " + std::to_string(other) + " holds no valid image to switch to");
    FirmwareUpdate row;
    row.cardKey = card.info.key;
    row.kind = FirmwareUpdate::Kind::Rollback;
    row.fromVersion = fw.activeVersion();
    row.fromBank = fw.activeBank;
    row.toVersion = fw.banks[other].version;
    row.toBank = other;
    row.sha256 = fw.banks[other].sha256;
    row.activate = FirmwareUpdate::Activation::Now;
    row.state = FirmwareUpdate::State::Staged;
    return startActivation(cardIndex, row, force, std::move(done), kJobRollback);
}

Result<int64_t> FirmwareService::startActivation(unsigned cardIndex, FirmwareUpdate row, bool force, Done done, const char* jobKind) {
    const CardSnapshot& card = d_.inventory.snapshot(cardIndex);
    const std::string what = card.info.label() + ": firmware " + (row.kind == FirmwareUpdate::Kind::Rollback ? "rollback" : "activation");
    if (auto r = requireUpdatable(card, what); !r) return std::move(r).error();
    if (auto r = requireSettled(card.info.key, what); !r) return std::move(r).error();
    if (auto r = requireIdleFirmware(card, what); !r) return std::move(r).error();
    if (auto it = runs_.find(card.info.key); it != runs_.end()) return makeError(Errc::Busy, what + ": " + it->second->describe() + " is under way on this card");
    if (!force)
        if (const auto blockers = vfsInUse(card, false); !blockers.empty())
            return makeError(Errc::Busy, what + ": activation resets the card, and VFs are in use (" + text::join(blockers, ", ") + "); --force resets it anyway");
    auto run = std::make_shared<Run>();
    run->card = cardIndex;
    run->info = card.info;
    run->force = force;
    run->done = std::move(done);
    run->row = std::move(row);
    auto job = d_.jobs.create(jobKind, card.info.label(), kActionUpdateFirmware,
                              []() -> Result<void> { return makeError(Errc::Busy, "an activation resets the card and cannot be cancelled"); });
    if (!job) return std::move(job).error().context(what);
    run->job = *job;
    run->row.job = *job;  // a staged update's own record moves on, with this job
    runs_[card.info.key] = run;
    d_.jobs.start(*job);
    arm(run);
    return *job;
}

void FirmwareService::arm(std::shared_ptr<Run> run) {
    run->stage = Run::Stage::Activating;
    run->row.state = FirmwareUpdate::State::Activating;
    run->row.reason = "activating bank " + std::to_string(run->row.toBank);
    if (auto r = begin(*run, kActivateKind, kStepArm); !r) return end(run, FirmwareUpdate::State::Failed, r.error().message, r.error());
    d_.events.publish(Notice{EventType::CardReset, Severity::Warning, run->info.label(),
                             "activating firmware " + run->row.toVersion + " (bank " + std::to_string(run->row.toBank) + "): the card is reset; its VFs' workloads stop",
                             run->card});
    onCard<void>(
        run->info.key,
        [device = d_.inventory.device(run->card), expect = run->row]() -> Result<void> {
            auto fw = device->firmware();
            if (!fw) return std::move(fw).error();
            const FirmwareBank& bank = fw->banks[expect.toBank];
            if (!bank.integrityOk || bank.version != expect.toVersion || (!expect.sha256.empty() && bank.sha256 != expect.sha256))
                return makeError(Errc::VerifyFailed, "bank " + std::to_string(expect.toBank) + " no longer holds " + expect.toVersion + " as written");
            return device->armFirmwareTry(expect.toBank);
        },
        [this, run](Result<void> armed) {
            if (!armed)
                return end(run, FirmwareUpdate::State::Failed,
                           "could not arm bank " + std::to_string(run->row.toBank) + ": " + armed.error().message + "; the card runs " +
                               bankText(run->row.fromBank, run->row.fromVersion) + " as before",
                           Error{armed.error().code, run->info.label() + ": firmware activation: " + armed.error().message});
            d_.jobs.progress(run->job, kArmed);
            (void)d_.journal.advance(run->journal, kStepReset);
            resetCard(run, [this, run] {
                (void)d_.journal.advance(run->journal, kStepCheck);
                d_.jobs.progress(run->job, kChecking);
                run->checkStarted = std::chrono::steady_clock::now();
                check(run);
            });
        });
}

void FirmwareService::resetCard(std::shared_ptr<Run> run, std::function<void()> then, unsigned attempt) {
    // The card reset is the reset service's (its events, VFs and provisioning put back after).
    // Another change of the card under way (putting VFs back after the last reset, say) makes
    // it Busy: tried again shortly, for up to a minute. Any other outcome is judged by what the
    // card runs afterwards; a failure is remembered for the record.
    std::weak_ptr<bool> alive = alive_;
    d_.resets.resetCard(run->card, true, [this, alive, run, then = std::move(then), attempt](Result<ResetService::CardOutcome> r) mutable {
        if (auto a = alive.lock(); !a || !*a) return;
        if (!r && r.error().code == Errc::Busy && attempt < kResetAttempts)
            return after(kResetRetry, [this, run, then = std::move(then), attempt]() mutable { resetCard(run, std::move(then), attempt + 1); });
        run->resetError = r ? std::string() : r.error().message;
        then();
    });
}

void FirmwareService::check(std::shared_ptr<Run> run) {
    const auto waited = std::chrono::steady_clock::now() - run->checkStarted;
    const auto limit = std::max<std::chrono::steady_clock::duration>(3 * s_.check, std::chrono::seconds(30));
    const CardSnapshot& card = d_.inventory.snapshot(run->card);
    std::string problem;
    if (card.lost) problem = "the card does not answer";
    else if (!card.firmware) problem = "the card does not report its firmware";
    else if (card.firmware->activeBank != run->row.toBank || card.firmware->activeVersion() != run->row.toVersion) {
        // It came up on the other bank: the new firmware did not boot, and the card fell back.
        const FirmwareState& fw = *card.firmware;
        std::string reason = run->resetError.empty() ? std::string() : "the card reset failed (" + run->resetError + "); ";
        if (fw.lastTry == FirmwareTry::FellBack && run->resetError.empty()) reason += "the new firmware did not boot; the card fell back by itself: ";
        reason += "expected " + bankText(run->row.toBank, run->row.toVersion) + ", running " + bankText(fw.activeBank, fw.activeVersion());
        // A try still armed (the reset never happened) must not fire at some later reset.
        return onCard<void>(
            run->info.key, [device = d_.inventory.device(run->card)]() { return device->armFirmwareTry(std::nullopt); },
            [this, run, reason](Result<void>) { finishRolledBack(run, reason); });
    } else if (card.firmware->selftestOk == false) {
        return rollBack(run, "the new firmware failed its health check: it fails its self-test");
    } else if (card.health == Health::Critical || card.health == Health::Lost) {
        return rollBack(run, "the new firmware failed its health check: the card is " + std::string(healthName(card.health)) + " (" + text::join(card.healthReasons, "; ") + ")");
    }
    if (problem.empty()) {
        if (!run->healthySince) run->healthySince = std::chrono::steady_clock::now();
        if (std::chrono::steady_clock::now() - *run->healthySince >= s_.check) return commit(run);
    } else {
        run->healthySince.reset();
        run->lastProblem = problem;
    }
    if (waited >= limit)
        return rollBack(run, "the card did not pass its health check within " + seconds(limit) + (run->lastProblem.empty() ? "" : ": " + run->lastProblem));
    after(s_.checkEvery, [this, run] { d_.poller.refresh(run->card, [this, run] { check(run); }); });
}

void FirmwareService::commit(std::shared_ptr<Run> run) {
    (void)d_.journal.advance(run->journal, kStepCommit);
    onCard<void>(
        run->info.key, [device = d_.inventory.device(run->card)]() { return device->commitFirmware(); },
        [this, run](Result<void> committed) {
            if (!committed) return rollBack(run, "committing bank " + std::to_string(run->row.toBank) + " failed: " + committed.error().message);
            const double checked = std::chrono::duration<double>(std::chrono::steady_clock::now() - run->checkStarted).count();
            char took[32];
            std::snprintf(took, sizeof took, "%.1f s", checked);
            end(run, FirmwareUpdate::State::Committed,
                "running " + bankText(run->row.toBank, run->row.toVersion) + ", committed after a health check of " + took + " (was " +
                    bankText(run->row.fromBank, run->row.fromVersion) + ")",
                {});
        });
}

void FirmwareService::rollBack(std::shared_ptr<Run> run, std::string reason) {
    (void)d_.journal.advance(run->journal, kStepRollback);
    (void)d_.journal.updatePayload(run->journal, Payload::of(run->row, reason).encode());
    d_.events.publish(Notice{EventType::Firmware, Severity::Warning, run->info.label(),
                             "update " + std::to_string(run->row.id) + ": rolling back to " + bankText(run->row.fromBank, run->row.fromVersion) + ": " + reason,
                             run->card});
    // The try was one-shot: disarm anything armed and reset, and the card boots its committed bank.
    onCard<void>(
        run->info.key, [device = d_.inventory.device(run->card)]() { return device->armFirmwareTry(std::nullopt); },
        [this, run, reason](Result<void>) {
            resetCard(run, [this, run, reason] {
                const CardSnapshot& card = d_.inventory.snapshot(run->card);
                if (card.firmware && !card.lost && card.firmware->activeBank == run->row.fromBank && card.firmware->activeVersion() == run->row.fromVersion)
                    return finishRolledBack(run, reason);
                const std::string running = card.lost || !card.firmware ? std::string("the card does not answer")
                                                                        : "running " + bankText(card.firmware->activeBank, card.firmware->activeVersion());
                const std::string why = run->resetError.empty() ? std::string() : " (the card reset failed: " + run->resetError + ")";
                end(run, FirmwareUpdate::State::Failed, reason + "; rolling back did not work" + why + ": expected " + bankText(run->row.fromBank, run->row.fromVersion) + ", " + running,
                    makeError(Errc::ResetFailed, run->info.label() + ": firmware: " + reason + "; rolling back did not work (" + running + ")"));
            });
        });
}

void FirmwareService::finishRolledBack(std::shared_ptr<Run> run, const std::string& reason) {
    end(run, FirmwareUpdate::State::RolledBack, reason + "; running " + bankText(run->row.fromBank, run->row.fromVersion) + " again",
        makeError(Errc::RolledBack, run->info.label() + ": firmware " + run->row.toVersion + " was rolled back: " + reason + "; the card runs " +
                                        bankText(run->row.fromBank, run->row.fromVersion)));
}

void FirmwareService::end(std::shared_ptr<Run> run, FirmwareUpdate::State state, const std::string& reason, Result<void> outcome) {
    run->row.state = state;
    run->row.reason = reason;
    if (run->row.id) {
        // The card runs what it runs whatever the store says: an end it refuses is written again
        // at every poll (recovery after a restart reads the card if it never is).
        (void)d_.db.recordEnd(
            run->info.label() + ": firmware update " + std::to_string(run->row.id),
            [this, id = run->row.id, journal = run->journal, state, reason]() -> Result<void> {
                if (auto s = d_.updates.set(id, state, reason); !s) return s;
                if (journal) return d_.journal.finish(journal, std::string(firmwareStateName(state)) + ": " + reason);
                return {};
            },
            {});
    }
    run->journal = 0;
    const Severity severity = state == FirmwareUpdate::State::Committed ? Severity::Info : Severity::Warning;
    d_.events.publish(Notice{EventType::Firmware, severity, run->info.label(),
                             std::string(firmwareKindName(run->row.kind)) + " " + std::to_string(run->row.id) + " " + std::string(firmwareStateName(state)) + ": " + reason,
                             run->card});
    finishJob(run, outcome);
}

void FirmwareService::finishJob(std::shared_ptr<Run> run, Result<void> outcome) {
    // The job ends once the card's snapshot shows what it runs now.
    std::weak_ptr<bool> alive = alive_;
    d_.poller.refresh(run->card, [this, alive, run, outcome] {
        if (auto a = alive.lock(); !a || !*a) return;
        runs_.erase(run->info.key);
        d_.jobs.finish(run->job, outcome);
        if (run->done) run->done(outcome);
    });
}

Result<std::vector<FirmwareUpdate>> FirmwareService::history(std::optional<unsigned> card, unsigned limit) {
    if (card && *card >= d_.inventory.size()) return makeError(Errc::NotFound, "no card " + std::to_string(*card));
    return d_.updates.recent(card ? d_.inventory.info(*card).key : std::string(), limit);
}

std::optional<FirmwareUpdate> FirmwareService::pending(unsigned card) {
    if (card >= d_.inventory.size()) return std::nullopt;
    const std::string& key = d_.inventory.info(card).key;
    if (auto it = runs_.find(key); it != runs_.end()) return it->second->row;
    auto open = d_.updates.openFor(key);
    return open ? *open : std::nullopt;
}

}  // namespace aismi
