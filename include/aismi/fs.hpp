// The filesystem seam: every path libmgmt and vfio touch goes through an Fs, relative to its
// root ("bus/pci/devices/0000:3b:00.0/sriov_numvfs"). The real /sys, a fake sysfs tree in a
// test, and the simulated card are all Fs implementations, so one code path serves them all.
#pragma once

#include <aismi/error.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace aismi {

class Fs {
public:
    virtual ~Fs() = default;

    /// The whole content of a file (sysfs attributes are small; `config` is up to 4 KiB).
    virtual Result<std::string> read(std::string_view path) const = 0;
    /// One write(2) of `data`, as a shell `echo > attr` does; the kernel's errno comes back.
    virtual Result<void> write(std::string_view path, std::string_view data) = 0;
    /// Names in a directory, sorted, without "." and "..".
    virtual Result<std::vector<std::string>> list(std::string_view dir) const = 0;
    /// The target of a symbolic link, as readlink(2) gives it.
    virtual Result<std::string> readLink(std::string_view path) const = 0;
    virtual bool exists(std::string_view path) const = 0;
    /// Where this seam leads, for messages ("/sys", "simulated cards in /var/lib/...").
    virtual std::string describe() const = 0;
};

/// An Fs over a real directory tree: `root` is "/sys" in production, a temporary fake sysfs
/// tree in tests. Paths must be relative and must not contain "..".
std::unique_ptr<Fs> makeHostFs(std::string root);

}  // namespace aismi
