/* timeline.h: draw a pipeline timeline as SVG, one row per rank.
 *
 * Data only: the caller hands rows of time spans (predicted by the simulator,
 * or measured from a trace) and gets a self-contained SVG file. Compute spans
 * are boxes coloured by microbatch (one hue per microbatch), with the kind
 * told apart by shade (F light, B medium, I darker, W darkest) and labelled "F3" (or
 * "1F3" when a rank holds several stages); spans with mb < 0 (waits,
 * communication, optimizer) are drawn grey. Two timelines drawn with the same
 * t_end can be put side by side (predicted vs measured). */
#ifndef PG_TIMELINE_H
#define PG_TIMELINE_H

#include <stdio.h>

typedef struct pg_tl_span {
    int row;        /* 0..nrows-1 */
    double t0, t1;  /* seconds from the step start */
    char kind;      /* 'F', 'B', 'I', 'W', or another letter drawn grey */
    int stage;      /* shown in the label when the timeline has several stages per row */
    int mb;         /* colour; -1 = grey */
} pg_tl_span;

typedef struct pg_timeline {
    const char *title;           /* first line, may be NULL */
    const char *subtitle;        /* second line, may be NULL */
    int nrows;
    const char *const *row_names;/* [nrows] or NULL ("rank 0", "rank 1", ...) */
    const pg_tl_span *spans;
    int nspans;
    double t_end;                /* right edge in seconds; 0 = the last span's end */
    int show_stage;              /* label spans "1F3" instead of "F3" */
    const char *axis;            /* time axis label with raw values (e.g. "units");
                                    NULL: seconds, drawn as ms below 10 s */
} pg_timeline;

/* Write the SVG to f. Returns 0 or a pg_err. */
int pg_timeline_svg(const pg_timeline *t, FILE *f);

/* The same into a file (error names the path). */
int pg_timeline_svg_file(const pg_timeline *t, const char *path);

#endif
