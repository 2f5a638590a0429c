// The simulated card seen through the filesystem seam, laid out as the kernel lays out sysfs
// (bus/pci/devices, bus/pci/drivers, kernel/iommu_groups) and answering writes with the
// kernel's rules and errnos. libmgmt's Linux code runs unchanged against it.
#pragma once

#include <aismi/fs.hpp>

#include <memory>

namespace aismi::sim {

class Clock;
class SimStateDir;

/// `dir` and `clock` must outlive the returned Fs.
std::unique_ptr<Fs> makeSimulatedSysfs(SimStateDir& dir, Clock& clock);

}  // namespace aismi::sim
