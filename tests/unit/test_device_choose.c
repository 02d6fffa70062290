/* test_device_choose: which GPU a rank takes (pg_device_choose,
 * runtime/compute/device.h), with the CUDA lookup's result given as data, so
 * that the cases of a GPU machine run without one:
 *   1. no placement bus id: local rank modulo the visible GPUs;
 *   2. the plan's bus id visible to CUDA: that device;
 *   3. not visible and exactly one GPU visible (a VM renumbering PCI, or
 *      CUDA_VISIBLE_DEVICES=3 on an 8-GPU node): that GPU, and one note line
 *      naming the bus id;
 *   4. not visible and several visible: PG_EDEVICE naming the bus id. */
#include "runtime/base/error.h"
#include "runtime/compute/device.h"
#include "tests/support/testlib.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    char note[256];
    /* 1 */
    CHECK(pg_device_choose(NULL, -1, 4, 6, note, sizeof note) == 2 && note[0] == '\0');
    CHECK(pg_device_choose("", -1, 1, 3, note, sizeof note) == 0 && note[0] == '\0');
    /* 2 */
    CHECK(pg_device_choose("0000:3b:00.0", 5, 8, 0, note, sizeof note) == 5 && note[0] == '\0');
    /* 3 */
    CHECK(pg_device_choose("0000:3b:00.0", -1, 1, 2, note, sizeof note) == 0);
    CHECK_MSG(strstr(note, "0000:3b:00.0") && strstr(note, "not visible to CUDA") &&
                  !strchr(note, '\n'),
              "note: '%s'", note);
    printf("one GPU visible: note: %s\n", note);
    /* 4 */
    strcpy(note, "stale");
    CHECK(pg_device_choose("0000:3b:00.0", -1, 2, 0, note, sizeof note) == PG_EDEVICE);
    CHECK_MSG(strstr(pg_errmsg(), "0000:3b:00.0") && strstr(pg_errmsg(), "CUDA has no device"),
              "error: '%s'", pg_errmsg());
    CHECK(note[0] == '\0');
    printf("two GPUs visible: error: %s\n", pg_errmsg());
    return pg_test_summary("test_device_choose");
}
