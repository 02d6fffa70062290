/* error.h: the one error convention of pipegrid.
 *
 * Every library function that can fail returns 0 on success or a negative
 * pg_err code. The failing function records a one-line, human message with
 * its context (file, line, key, dataset, rank) through pg_error(); the caller
 * that decides how to end (the CLI) reads it with pg_errmsg(). Library code
 * never calls exit(): a fatal error on one rank is turned into an MPI_Abort by
 * the CLI so that no other rank is left waiting. */
#ifndef PG_ERROR_H
#define PG_ERROR_H

typedef enum pg_err {
    PG_OK = 0,
    PG_EINVAL = -1,   /* bad argument, config value or CLI option */
    PG_ENOMEM = -2,   /* allocation failed */
    PG_EIO = -3,      /* file could not be read or written */
    PG_EFORMAT = -4,  /* file content malformed (INI, HDF5, schedule file) */
    PG_ECOMM = -5,    /* communication failed */
    PG_ETIMEOUT = -6, /* watchdog fired */
    PG_ENUMERIC = -7, /* NaN/Inf detected */
    PG_EDEVICE = -8,  /* accelerator or its library failed */
    PG_EHALT = -9,    /* a stop was requested (signal, halt file) */
} pg_err;

/* Record the message for the current error (printf format) and return code,
 * so that a failing path reads: return pg_error(PG_EINVAL, "...", ...); */
int pg_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last recorded message, "" when none. */
const char *pg_errmsg(void);

#endif
