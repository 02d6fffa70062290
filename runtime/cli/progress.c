/* progress.c: log lines and the terminal progress bar (see progress.h). */
#include "runtime/cli/progress.h"

#include "runtime/base/error.h"

#include <string.h>
#include <unistd.h>

int pg_progress_init(pg_progress *p, FILE *f, const char *mode, int start, int total)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    p->start = start;
    p->total = total;
    p->t0 = pg_now();
    if (!strcmp(mode, "auto")) p->bar = isatty(fileno(f));
    else if (!strcmp(mode, "bar")) p->bar = 1;
    else if (strcmp(mode, "lines"))
        return pg_error(PG_EINVAL, "--progress: expected auto, bar or lines, got '%s'", mode);
    return 0;
}

void pg_format_eta(double s, char *buf, size_t n)
{
    if (s < 60) snprintf(buf, n, "%.0fs", s);
    else if (s < 3600) snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

void pg_progress_clear(pg_progress *p)
{
    if (!p->drawn) return;
    fputs("\r\033[K", p->f);
    p->drawn = 0;
}

void pg_progress_step(pg_progress *p, const pg_step_stats *s, int log_line)
{
    double now = pg_now(), eta_s = (now - p->t0) / (s->step - p->start) * (p->total - s->step);
    char eta[32];
    pg_format_eta(eta_s, eta, sizeof eta);
    int last = s->step == p->total;
    if (log_line) {
        pg_progress_clear(p);
        fprintf(p->f,
                "step %5d/%d | loss %.6f | lr %.2e | gnorm %7.4f | %8.0f samples/s | %7.1f ms"
                " | bubble %5.1f%% | eta %s\n",
                s->step, p->total, s->loss, s->lr, s->grad_norm, s->samples_per_s,
                s->step_time * 1e3, 100.0 * s->bubble, eta);
    }
    /* the bar: at most 10 redraws a second, and at the last step */
    if (p->bar && (last || log_line || now - p->last_draw >= 0.1)) {
        enum { W = 30 };
        char bar[W + 1];
        int fill = (int)((double)W * s->step / p->total);
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '-';
        bar[W] = '\0';
        fprintf(p->f, "\r\033[K[%s] %d/%d %3.0f%% | loss %.4f | %.0f samples/s | eta %s", bar,
                s->step, p->total, 100.0 * s->step / p->total, s->loss, s->samples_per_s, eta);
        p->drawn = 1;
        p->last_draw = now;
        if (last) {
            fputc('\n', p->f);
            p->drawn = 0;
        }
    }
    fflush(p->f);
}
