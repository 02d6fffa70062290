/* range.h: NVTX ranges, so that Nsight Systems shows what the runtime did
 * next to the kernels: every schedule action ("1F3", "0SEND_B2", ...), every
 * gradient bucket's allreduce (launch to completion) and the checkpoint
 * phases. In CUDA builds these are NVTX 3 calls (header-only, from the
 * toolkit; nearly free when no tool is attached); in CPU builds they are
 * empty and PG_RANGES is 0, so callers can skip naming work with
 * `if (PG_RANGES)`. */
#ifndef PG_RANGE_H
#define PG_RANGE_H

#include <stdint.h>

#ifdef PG_HAVE_CUDA
#include <nvtx3/nvToolsExt.h>

enum { PG_RANGES = 1 };
/* A nested range on the calling thread: push ... pop. */
static inline void pg_range_push(const char *name) { nvtxRangePushA(name); }
static inline void pg_range_pop(void) { nvtxRangePop(); }
/* A range that may end elsewhere (an operation in flight): start ... end. */
static inline uint64_t pg_range_start(const char *name) { return nvtxRangeStartA(name); }
static inline void pg_range_end(uint64_t id) { nvtxRangeEnd(id); }
#else
enum { PG_RANGES = 0 };
static inline void pg_range_push(const char *name) { (void)name; }
static inline void pg_range_pop(void) {}
static inline uint64_t pg_range_start(const char *name)
{
    (void)name;
    return 0;
}
static inline void pg_range_end(uint64_t id) { (void)id; }
#endif

#endif
