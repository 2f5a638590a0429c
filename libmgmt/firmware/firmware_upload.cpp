#include <aismi/firmware_upload.hpp>

#include <aismi/fs.hpp>
#include <aismi/text.hpp>

#include <cerrno>
#include <thread>

namespace aismi {
namespace {

constexpr std::string_view kClass = "class/firmware";
constexpr size_t kChunk = 1 << 20;  // what one write(2) to `data` carries

Errc errcOfUploadError(std::string_view error) {
    if (error == "device-busy") return Errc::Busy;
    if (error == "invalid-file-size") return Errc::InvalidArgument;
    if (error == "user-abort") return Errc::Cancelled;
    if (error == "timeout") return Errc::Timeout;
    return Errc::IoError;  // hw-error, read-write-error, flash-wearout, firmware-invalid
}

}  // namespace

std::string FirmwareUpload::path(std::string_view file) const { return std::string(kClass) + "/" + name_ + "/" + std::string(file); }

Result<FirmwareUpload> FirmwareUpload::find(Fs& fs, const PciAddress& pf) {
    auto names = fs.list(kClass);
    if (names)
        for (const auto& name : *names) {
            auto target = fs.readLink(std::string(kClass) + "/" + name + "/device");
            if (!target) continue;  // `timeout` and other class attributes
            const std::string_view t = *target;
            if (t.substr(t.rfind('/') + 1) == pf.str() && fs.exists(std::string(kClass) + "/" + name + "/loading")) return FirmwareUpload(fs, name);
        }
    return makeError(Errc::NotSupported, pf.str() + ": the driver registered no firmware-upload device (" + std::string(kClass) + ")");
}

Result<FirmwareUpload::Status> FirmwareUpload::status() const {
    auto phase = fs_->read(path("status"));
    if (!phase) return std::move(phase).error();
    Status s;
    s.phase = std::string(text::trim(*phase));
    if (s.phase != "idle" && s.phase != "preparing" && s.phase != "transferring" && s.phase != "programming")
        return makeError(Errc::MalformedData, path("status") + ": unknown status '" + s.phase + "'");
    auto remaining = fs_->read(path("remaining_size"));
    if (!remaining) return std::move(remaining).error();
    auto n = text::parseUnsigned(*remaining, path("remaining_size"));
    if (!n) return std::move(n).error();
    s.remaining = *n;
    return s;
}

Result<void> FirmwareUpload::start(std::span<const uint8_t> image) {
    const std::string what = name_ + ": uploading " + std::to_string(image.size()) + " bytes";
    if (auto r = fs_->write(path("loading"), "1"); !r) return std::move(r).error().context(what);
    for (size_t at = 0; at < image.size(); at += kChunk) {
        const auto part = image.subspan(at, std::min(kChunk, image.size() - at));
        if (auto r = fs_->write(path("data"), std::string_view(reinterpret_cast<const char*>(part.data()), part.size())); !r) {
            (void)fs_->write(path("loading"), "-1");  // abort: nothing reaches the flash
            return std::move(r).error().context(what);
        }
    }
    if (auto r = fs_->write(path("loading"), "0"); !r) return std::move(r).error().context(what);
    return {};
}

Result<void> FirmwareUpload::wait(const Wait& how) {
    const auto deadline = std::chrono::steady_clock::now() + how.timeout;
    bool cancelAsked = false;
    for (;;) {
        auto s = status();
        if (!s) return std::move(s).error();
        if (s->phase == "idle") break;
        if (how.progress) how.progress(*s);
        if (!cancelAsked && how.cancelRequested && how.cancelRequested()) {
            cancelAsked = true;
            (void)cancel();  // refused while programming: the write then finishes as it would
        }
        if (std::chrono::steady_clock::now() >= deadline)
            return makeError(Errc::Timeout, name_ + ": the device is still " + s->phase + " after " + std::to_string(how.timeout.count()) + " ms");
        std::this_thread::sleep_for(how.pollEvery);
    }
    // Polling `status` cannot tell success from failure: `error` can, once idle.
    auto error = fs_->read(path("error"));
    if (!error) return std::move(error).error();
    const std::string_view e = text::trim(*error);
    if (e.empty()) return {};
    const size_t colon = e.find(':');
    const std::string_view kind = colon == std::string_view::npos ? e : e.substr(colon + 1);
    return makeError(errcOfUploadError(kind), name_ + ": the device reports " + std::string(e));
}

Result<void> FirmwareUpload::cancel() {
    auto r = fs_->write(path("cancel"), "1");
    if (r) return r;
    if (r.error().code == Errc::Busy) return makeError(Errc::Busy, name_ + ": the flash is being written; an upload cannot be cancelled now");
    if (r.error().code == Errc::DeviceLost) return makeError(Errc::NotFound, name_ + ": no upload to cancel");
    return r;
}

}  // namespace aismi
