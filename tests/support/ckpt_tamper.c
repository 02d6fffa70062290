/* ckpt_tamper.c: damage a checkpoint file the way disks and people do, for
 * the corruption tests (tests/cli/ckpt.sh).
 *
 *   ckpt_tamper FILE flip DATASET      flip one bit in the middle of the
 *                                      dataset's stored bytes (raw write)
 *   ckpt_tamper FILE delete DATASET    unlink the dataset
 *   ckpt_tamper FILE reshape DATASET   replace it by a (2, 3) float32 one
 *   ckpt_tamper FILE dtype DATASET     replace it by a float64 one of the
 *                                      same shape (with a crc32 attribute)
 *   ckpt_tamper FILE nocrc DATASET     delete its crc32 attribute
 *   ckpt_tamper FILE extra DATASET     add a small float32 dataset
 *   ckpt_tamper FILE nan DATASET       write a NaN into its first element and
 *                                      restamp its crc32 attribute (a NaN
 *                                      that only a finiteness check finds)
 *   ckpt_tamper FILE attr NAME VALUE   set root attribute NAME to VALUE (an
 *                                      int64 when VALUE is an integer, else
 *                                      a string); VALUE "-" deletes it
 */
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

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

/* Root attribute `name` := value (see the usage above). */
static int set_attr(const char *file, const char *name, const char *value)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return 1;
    int bad = H5Aexists(f, name) > 0 && H5Adelete(f, name) < 0;
    char *end;
    long long v = strtoll(value, &end, 10);
    hid_t sc = H5Screate(H5S_SCALAR), type = H5Tcopy(H5T_C_S1), a = -1;
    H5Tset_size(type, strlen(value) + 1);
    if (!bad && strcmp(value, "-")) {
        int integer = *value && !*end;
        a = H5Acreate2(f, name, integer ? H5T_STD_I64LE : type, sc, H5P_DEFAULT, H5P_DEFAULT);
        bad = a < 0 || (integer ? H5Awrite(a, H5T_NATIVE_LLONG, &v) : H5Awrite(a, type, value)) < 0;
        H5Aclose(a);
    }
    H5Tclose(type);
    H5Sclose(sc);
    return H5Fclose(f) < 0 || bad;
}

static int dataset_op(const char *file, const char *name, int extra)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return 1;
    int bad;
    if (extra) {
        hsize_t n = 3;
        float x[3] = {1, 2, 3};
        hid_t sp = H5Screate_simple(1, &n, NULL);
        hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        bad = d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
        H5Dclose(d);
        H5Sclose(sp);
    } else {
        bad = H5Adelete_by_name(f, name, "crc32", H5P_DEFAULT) < 0;
    }
    return H5Fclose(f) < 0 || bad;
}

static int put_nan(const char *file, const char *name)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t d = f < 0 ? -1 : H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) return 1;
    hid_t sp = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    float *x = n > 0 ? malloc(sizeof(float) * (size_t)n) : NULL;
    int bad = !x || H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
    if (!bad) {
        x[0] = 0.0f / 0.0f;
        bad = H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0;
    }
    unsigned crc = bad ? 0 : (unsigned)crc32(0, (const Bytef *)x, (uInt)(sizeof(float) * (size_t)n));
    hid_t a = bad ? -1 : H5Aopen(d, "crc32", H5P_DEFAULT);
    bad = bad || a < 0 || H5Awrite(a, H5T_NATIVE_UINT, &crc) < 0;
    if (a >= 0) H5Aclose(a);
    free(x);
    H5Dclose(d);
    return H5Fclose(f) < 0 || bad;
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && !strcmp(argv[2], "attr"))) {
        fprintf(stderr, "usage: ckpt_tamper FILE flip|delete|reshape|dtype|nocrc|extra|nan DATASET\n"
                        "       ckpt_tamper FILE attr NAME VALUE\n");
        return 2;
    }
    const char *file = argv[1], *what = argv[2], *name = argv[3];
    int rc = 2;
    if (!strcmp(what, "attr")) rc = set_attr(file, name, argv[4]);
    else if (!strcmp(what, "nocrc")) rc = dataset_op(file, name, 0);
    else if (!strcmp(what, "extra")) rc = dataset_op(file, name, 1);
    else if (!strcmp(what, "flip")) rc = flip(file, name);
    else if (!strcmp(what, "nan")) rc = put_nan(file, name);
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
