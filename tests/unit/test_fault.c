/* test_fault.c: PIPEGRID_FAULT parsing (one-line errors naming the variable)
 * and where a planned fault fires (rank, step, action, microbatch; once). */
#include "runtime/base/error.h"
#include "runtime/guard/fault.h"
#include "runtime/guard/watchdog.h"
#include "tests/support/testlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int init(const char *v, int rank)
{
    setenv("PIPEGRID_FAULT", v, 1);
    return pg_fault_init(rank);
}

#define EXPECT_ERROR(v, want)                                                              \
    do {                                                                                   \
        CHECK_MSG(init(v, 0) == PG_EINVAL, "'%s' was accepted", v);                        \
        CHECK_MSG(strstr(pg_errmsg(), "PIPEGRID_FAULT") && strstr(pg_errmsg(), want),      \
                  "'%s': message '%s' lacks '%s'", v, pg_errmsg(), want);                  \
        CHECK(strchr(pg_errmsg(), '\n') == NULL);                                          \
    } while (0)

int main(void)
{
    /* unset and empty: no fault */
    unsetenv("PIPEGRID_FAULT");
    CHECK(pg_fault_init(0) == 0);
    CHECK(pg_fault_hit(PG_F, 1, 0) == 0);
    CHECK(init("", 0) == 0);

    EXPECT_ERROR("hang", "expected KIND:rank=R,step=K,action=A");
    EXPECT_ERROR("explode:rank=0,step=1,action=forward", "unknown kind 'explode'");
    EXPECT_ERROR("kill:rank=0,step=1,action=jump", "bad action 'jump'");
    EXPECT_ERROR("kill:rank=x,step=1,action=forward", "bad rank 'x'");
    EXPECT_ERROR("kill:rank=0,step=-2,action=forward", "bad step '-2'");
    EXPECT_ERROR("kill:rank=0,step=1,action=forward,color=red", "unknown key 'color'");
    EXPECT_ERROR("kill:rank=0,step=1,action", "'action' is not KEY=VALUE");
    EXPECT_ERROR("kill:rank=0,action=forward", "needs rank, step (>= 1) and action");
    EXPECT_ERROR("kill:rank=0,step=0,action=forward", "needs rank, step (>= 1) and action");
    EXPECT_ERROR("nan:rank=0,step=1,action=allreduce", "nan needs action=forward or backward");

    EXPECT_ERROR("enospc:rank=0,step=1,action=forward", "enospc needs a checkpoint action");

    /* I/O errors at the phases of a save: the errno comes back, once */
    CHECK(init("enospc:rank=0,step=4,action=ckpt-sync", 0) == 0);
    CHECK(pg_fault_hit(PG_FAULT_PHASE(PG_PHASE_CKPT_WRITE), 4, -1) == 0);
    CHECK(pg_fault_hit(PG_FAULT_PHASE(PG_PHASE_CKPT_SYNC), 3, -1) == 0);
    CHECK(pg_fault_hit(PG_FAULT_PHASE(PG_PHASE_CKPT_SYNC), 4, -1) == ENOSPC);
    CHECK(pg_fault_hit(PG_FAULT_PHASE(PG_PHASE_CKPT_SYNC), 4, -1) == 0);
    CHECK(init("eio:rank=0,step=2,action=checkpoint", 0) == 0); /* = ckpt-write */
    CHECK(pg_fault_hit(PG_FAULT_PHASE(PG_PHASE_CKPT_WRITE), 2, -1) == EIO);

    /* another rank's plan: nothing fires here */
    CHECK(init("nan:rank=3,step=2,action=backward", 1) == 0);
    CHECK(pg_fault_hit(PG_B, 2, 0) == 0);

    /* nan at backward (B, I or W) of step 2, microbatch 1: fires once, there */
    CHECK(init("nan:rank=1,step=2,action=backward,mb=1", 1) == 0);
    CHECK(pg_fault_hit(PG_B, 1, 1) == 0);   /* another step */
    CHECK(pg_fault_hit(PG_B, 2, 0) == 0);   /* another microbatch */
    CHECK(pg_fault_hit(PG_F, 2, 1) == 0);   /* another action */
    CHECK(pg_fault_hit(PG_W, 2, 1) == 1);   /* W is a backward */
    CHECK(pg_fault_hit(PG_W, 2, 1) == 0);   /* once */

    /* without mb: the first match of the step; phases match by name */
    CHECK(init("nan:rank=0,step=3,action=forward", 0) == 0);
    CHECK(pg_fault_hit(PG_F, 3, 2) == 1);
    CHECK(init("nan:rank=0,step=3,action=forward", 0) == 0);
    CHECK(pg_fault_hit(PG_FAULT_PHASE(PG_PHASE_ALLREDUCE), 3, -1) == 0);

    /* the watchdog is off: its calls record nothing and own no timeout */
    CHECK(pg_watchdog_wait("x") == 0);
    return pg_test_summary("test_fault");
}
