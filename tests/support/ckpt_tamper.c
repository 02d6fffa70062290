/* ckpt_tamper.c: damage a checkpoint file the way disks and people do, for
 * the corruption tests (tests/cli/ckpt.sh).
 *
 *   ckpt_tamper FILE flip DATASET      flip one bit in the middle of the
 *                                      dataset's stored bytes (raw write)
 *   ckpt_tamper FILE delete DATASET    unlink the dataset
 *   ckpt_tamper FILE reshape DATASET   replace it by a (2, 3) float32 one
 *   ckpt_tamper FILE dtype DATASET     replace it by a float64 one of the
 *                                      same shape (with a crc32 attribute)
 */
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int flip(const char *file, const char *name)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = f < 0 ? -1 : H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return 1;
    haddr_t off = H5Dget_offset(d);
    hsize_t size = H5Dget_storage_size(d);
    H5Dclose(d);
    H5Fclose(f);
    if (off == HADDR_UNDEF || size == 0) return 1;
    int fd = open(file, O_RDWR);
    unsigned char b;
    off_t at = (off_t)(off + size / 2);
    if (fd < 0 || pread(fd, &b, 1, at) != 1) return 1;
    b ^= 0x10;
    int bad = pwrite(fd, &b, 1, at) != 1;
    close(fd);
    return bad;
}

static int replace(const char *file, const char *name, int wrong_dtype)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = f < 0 ? -1 : H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return 1;
    hid_t space = wrong_dtype ? H5Dget_space(d) : -1;
    H5Dclose(d);
    if (H5Ldelete(f, name, H5P_DEFAULT) < 0) return 1;
    hsize_t dims[2] = {2, 3};
    if (!wrong_dtype) space = H5Screate_simple(2, dims, NULL);
    hid_t type = wrong_dtype ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
    d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t as = H5Screate(H5S_SCALAR);
    unsigned crc = 0;
    hid_t a = H5Acreate2(d, "crc32", H5T_STD_U32LE, as, H5P_DEFAULT, H5P_DEFAULT);
    int bad = d < 0 || a < 0 || H5Awrite(a, H5T_NATIVE_UINT, &crc) < 0;
    H5Aclose(a);
    H5Sclose(as);
    H5Sclose(space);
    H5Dclose(d);
    return H5Fclose(f) < 0 || bad;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ckpt_tamper FILE flip|delete|reshape|dtype DATASET\n");
        return 2;
    }
    const char *file = argv[1], *what = argv[2], *name = argv[3];
    int rc = 2;
    if (!strcmp(what, "flip")) rc = flip(file, name);
    else if (!strcmp(what, "reshape")) rc = replace(file, name, 0);
    else if (!strcmp(what, "dtype")) rc = replace(file, name, 1);
    else if (!strcmp(what, "delete")) {
        hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
        rc = f < 0 || H5Ldelete(f, name, H5P_DEFAULT) < 0;
        if (f >= 0 && H5Fclose(f) < 0) rc = 1;
    }
    if (rc) fprintf(stderr, "ckpt_tamper: %s %s %s failed\n", file, what, name);
    return rc;
}
