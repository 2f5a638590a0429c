#include "heap.hpp"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

namespace aismi::client {

void prepareHeap(size_t bytes) {
    constexpr size_t kLimit = size_t{256} << 20;  // a bound, whatever the estimate says
    if (bytes == 0 || bytes > kLimit) return;
    // Keep what is freed in the heap (no trimming, no mmap for big blocks), so the populated
    // pages serve the allocations that follow. A short-lived command can afford that.
    mallopt(M_MMAP_THRESHOLD, static_cast<int>(kLimit));
    mallopt(M_TRIM_THRESHOLD, static_cast<int>(kLimit));
    void* block = std::malloc(bytes);
    if (!block) return;
    constexpr uintptr_t kPage = 4096;
    const uintptr_t begin = (reinterpret_cast<uintptr_t>(block) + kPage - 1) & ~(kPage - 1);
    const uintptr_t end = (reinterpret_cast<uintptr_t>(block) + bytes) & ~(kPage - 1);
    if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
    std::free(block);
}

}  // namespace aismi::client
