#pragma once
// The client's heap, made ready for what it is about to read.
#include <cstddef>

namespace aismi::client {

/// Makes the next `bytes` of allocations land on memory that is already mapped: one
/// madvise(MADV_POPULATE_WRITE) instead of a page fault per 4 KiB page. A summary of 4,096 VFs
/// allocates ~3 MiB of rows; in a VM each fault costs several microseconds, and they were a
/// third of the command's time (docs/performance.md). Only an optimisation: where the kernel
/// cannot (before Linux 5.14) the pages are faulted in as they are touched, as before.
void prepareHeap(size_t bytes);

}  // namespace aismi::client
