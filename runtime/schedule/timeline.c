/* timeline.c: the SVG timeline drawer (see timeline.h). */
#include "runtime/schedule/timeline.h"

#include "runtime/base/error.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define LEFT 70.0   /* room for row names */
#define RIGHT 20.0
#define TOP 50.0    /* title and subtitle */
#define ROW_H 26.0
#define ROW_GAP 6.0
#define PLOT_W 900.0
#define BOTTOM 56.0 /* time axis and legend */

/* HSL (h in degrees, s and l in [0,1]) to "#rrggbb". */
static void hsl(double h, double s, double l, char out[8])
{
    double c = (1 - fabs(2 * l - 1)) * s, hp = fmod(h, 360.0) / 60.0;
    double x = c * (1 - fabs(fmod(hp, 2.0) - 1)), m = l - c / 2, r = 0, g = 0, b = 0;
    if (hp < 1) r = c, g = x;
    else if (hp < 2) r = x, g = c;
    else if (hp < 3) g = c, b = x;
    else if (hp < 4) g = x, b = c;
    else if (hp < 5) r = x, b = c;
    else r = c, b = x;
    snprintf(out, 8, "#%02x%02x%02x", (int)lround((r + m) * 255), (int)lround((g + m) * 255),
             (int)lround((b + m) * 255));
}

/* Lightness of each kind: F light, B medium, I darker, W darkest. */
static double shade(char kind)
{
    switch (kind) {
    case 'F': return 0.80;
    case 'B': return 0.60;
    case 'I': return 0.48;
    case 'W': return 0.32;
    default: return 0.85;
    }
}

static void fill_of(const pg_tl_span *sp, char out[8])
{
    if (sp->mb < 0) {
        snprintf(out, 8, "#d0d0d0");
        return;
    }
    /* golden-angle hues keep neighbouring microbatches apart */
    hsl(sp->mb * 137.508 + 20.0, 0.65, shade(sp->kind), out);
}

static void text_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else fputc(*s, f);
    }
}

/* A round step for about 10 ticks over [0, t]. */
static double tick_step(double t)
{
    double raw = t / 10.0, p = pow(10.0, floor(log10(raw))), m = raw / p;
    return p * (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10);
}

int pg_timeline_svg(const pg_timeline *t, FILE *f)
{
    double end = t->t_end;
    for (int i = 0; i < t->nspans && !(t->t_end > 0); i++)
        if (t->spans[i].t1 > end) end = t->spans[i].t1;
    if (!(end > 0)) end = 1.0;
    double sx = PLOT_W / end;
    double H = TOP + t->nrows * (ROW_H + ROW_GAP) + BOTTOM, W = LEFT + PLOT_W + RIGHT;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    if (t->title) {
        fputs("<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">", f);
        text_escaped(f, t->title);
        fputs("</text>\n", f);
    }
    if (t->subtitle) {
        fputs("<text x=\"10\" y=\"38\" font-size=\"12\" fill=\"#444\">", f);
        text_escaped(f, t->subtitle);
        fputs("</text>\n", f);
    }
    for (int r = 0; r < t->nrows; r++) {
        double y = TOP + r * (ROW_H + ROW_GAP);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\"/>\n",
                LEFT, y, PLOT_W, ROW_H);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">", LEFT - 8,
                y + ROW_H / 2 + 4);
        if (t->row_names) text_escaped(f, t->row_names[r]);
        else fprintf(f, "rank %d", r);
        fputs("</text>\n", f);
    }
    for (int i = 0; i < t->nspans; i++) {
        const pg_tl_span *sp = &t->spans[i];
        if (sp->row < 0 || sp->row >= t->nrows || !(sp->t1 >= sp->t0)) continue;
        double x = LEFT + sp->t0 * sx, w = (sp->t1 - sp->t0) * sx;
        double y = TOP + sp->row * (ROW_H + ROW_GAP);
        char fill[8], label[32];
        fill_of(sp, fill);
        if (t->show_stage && sp->stage >= 0)
            snprintf(label, sizeof label, "%d%c%d", sp->stage, sp->kind, sp->mb);
        else if (sp->mb >= 0)
            snprintf(label, sizeof label, "%c%d", sp->kind, sp->mb);
        else
            snprintf(label, sizeof label, "%c", sp->kind);
        fprintf(f,
                "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\" "
                "stroke=\"#333\" stroke-width=\"0.5\"><title>%s %.6g-%.6g s</title></rect>\n",
                x, y, w, ROW_H, fill, label, sp->t0, sp->t1);
        /* a label when it fits (about 7 px per character at 10 px) */
        if (w >= 7.0 * (double)strlen(label) + 2)
            fprintf(f,
                    "<text x=\"%.2f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" "
                    "fill=\"%s\">%s</text>\n",
                    x + w / 2, y + ROW_H / 2 + 3.5, shade(sp->kind) < 0.5 ? "white" : "black",
                    label);
    }
    /* time axis */
    double ay = TOP + t->nrows * (ROW_H + ROW_GAP) + 4, step = tick_step(end);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", LEFT,
            ay, LEFT + PLOT_W, ay);
    int ms = !t->axis && end < 10.0;
    for (double v = 0; v <= end * (1 + 1e-9); v += step) {
        double x = LEFT + v * sx;
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", x,
                ay, x, ay + 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%g</text>\n",
                x, ay + 15, ms ? round(v * 1e6) / 1e3 : v);
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%s</text>\n",
            LEFT - 8, ay + 15, t->axis ? t->axis : ms ? "ms" : "s");
    /* legend: the shades of one microbatch's hue */
    double ly = ay + 26, lx = LEFT;
    static const char kinds[] = "FBIW";
    static const char *const names[] = {"forward", "backward", "input grad", "weight grad"};
    for (int k = 0; k < 4; k++) {
        char fill[8];
        pg_tl_span sp = {.kind = kinds[k], .mb = 0};
        fill_of(&sp, fill);
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"12\" fill=\"%s\" "
                "stroke=\"#333\" stroke-width=\"0.5\"/><text x=\"%.1f\" y=\"%.1f\" "
                "font-size=\"11\">%c %s</text>\n",
                lx, ly, fill, lx + 18, ly + 10, kinds[k], names[k]);
        lx += 130;
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#444\">hue = microbatch; "
               "grey = other</text>\n</svg>\n",
            lx, ly + 10);
    return ferror(f) ? pg_error(PG_EIO, "timeline: write failed") : 0;
}

int pg_timeline_svg_file(const pg_timeline *t, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return pg_error(PG_EIO, "cannot write '%s': %s", path, strerror(errno));
    int rc = pg_timeline_svg(t, f);
    if (fclose(f) && !rc) rc = pg_error(PG_EIO, "cannot write '%s': %s", path, strerror(errno));
    if (rc == PG_EIO && strstr(pg_errmsg(), "timeline:"))
        rc = pg_error(PG_EIO, "cannot write '%s'", path);
    return rc;
}
