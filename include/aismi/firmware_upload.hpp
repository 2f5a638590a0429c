// The Linux firmware-upload class (Documentation/ABI/testing/sysfs-class-firmware): how an
// image reaches a card's flash. Write 1 to `loading`, the image to `data`, 0 to `loading`; the
// device then moves `status` through preparing, transferring and programming back to idle
// while `remaining_size` counts down; once idle, `error` says whether it worked ("" or
// "<status>:<error>"). `cancel` stops it before programming. Blocking: run on a worker.
#pragma once

#include <aismi/error.hpp>
#include <aismi/pci_address.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace aismi {

class Fs;

class FirmwareUpload {
public:
    /// The upload device whose `device` link leads to the PF at `pf`: NotSupported when the
    /// driver registered none.
    static Result<FirmwareUpload> find(Fs& fs, const PciAddress& pf);

    const std::string& name() const { return name_; }

    struct Status {
        std::string phase;  // idle, preparing, transferring, programming
        uint64_t remaining = 0;
    };
    Result<Status> status() const;

    /// Hands `image` to the device (loading 1, data, loading 0). Busy when an upload runs.
    Result<void> start(std::span<const uint8_t> image);

    struct Wait {
        std::chrono::milliseconds pollEvery{20};
        std::chrono::milliseconds timeout{std::chrono::minutes(30)};
        /// Called at each poll that found the upload under way.
        std::function<void(const Status&)> progress;
        /// Asked at each poll; true cancels the upload (refused while programming: it goes on).
        std::function<bool()> cancelRequested;
    };
    /// Waits for the device to be idle again, then reads `error`: an error naming what the
    /// device reported (device-busy -> Busy, invalid-file-size -> InvalidArgument, user-abort
    /// -> Cancelled, timeout -> Timeout, the rest -> IoError), Timeout after `timeout`.
    Result<void> wait(const Wait& how);

    /// Writes `cancel`: Busy while the flash is being written, NotFound when idle.
    Result<void> cancel();

private:
    FirmwareUpload(Fs& fs, std::string name) : fs_(&fs), name_(std::move(name)) {}
    std::string path(std::string_view file) const;

    Fs* fs_;
    std::string name_;
};

}  // namespace aismi
