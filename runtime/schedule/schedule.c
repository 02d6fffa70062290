/* schedule.c: the action lists, their text form, and schedule files. */
#include "runtime/schedule/schedule.h"

#include "runtime/base/error.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const KIND_NAMES[PG_ACT_KINDS] = {
    "F", "B", "I", "W", "SEND_F", "RECV_F", "SEND_B", "RECV_B", "REDUCE", "OPTIM",
};

int pg_schedule_new(pg_schedule **out, const char *name, int pp, int nstages, int nmb)
{
    *out = NULL;
    if (pp < 1 || nstages < pp || nmb < 1)
        return pg_error(PG_EINVAL, "schedule: need pp >= 1, stages >= pp, microbatches >= 1 "
                                   "(got pp=%d, stages=%d, microbatches=%d)",
                        pp, nstages, nmb);
    /* building, validating and simulating grow faster than linearly in these:
     * refuse sizes that would run for minutes instead of answering */
    if (pp > PG_SCHEDULE_MAX_PP || (int64_t)nstages * nmb > PG_SCHEDULE_MAX_CELLS)
        return pg_error(PG_EINVAL, "schedule: pp=%d and stages x microbatches = %d x %d are too "
                                   "large (at most pp=%d and %d stage-microbatches)",
                        pp, nstages, nmb, PG_SCHEDULE_MAX_PP, PG_SCHEDULE_MAX_CELLS);
    pg_schedule *s = calloc(1, sizeof *s);
    if (!s) return pg_error(PG_ENOMEM, "schedule: out of memory");
    snprintf(s->name, sizeof s->name, "%s", name);
    s->pp = pp;
    s->nstages = nstages;
    s->nmb = nmb;
    s->stage_rank = calloc((size_t)nstages, sizeof(int));
    s->len = calloc((size_t)pp, sizeof(int));
    s->cap = calloc((size_t)pp, sizeof(int));
    s->acts = calloc((size_t)pp, sizeof(pg_action *));
    if (!s->stage_rank || !s->len || !s->cap || !s->acts) {
        pg_schedule_free(s);
        return pg_error(PG_ENOMEM, "schedule: out of memory");
    }
    for (int st = 0; st < nstages; st++) s->stage_rank[st] = st % pp;
    *out = s;
    return 0;
}

void pg_schedule_free(pg_schedule *s)
{
    if (!s) return;
    if (s->acts)
        for (int r = 0; r < s->pp; r++) free(s->acts[r]);
    free(s->acts);
    free(s->len);
    free(s->cap);
    free(s->stage_rank);
    free(s);
}

int pg_schedule_push(pg_schedule *s, int rank, pg_action a)
{
    if (s->len[rank] == s->cap[rank]) {
        int cap = s->cap[rank] ? 2 * s->cap[rank] : 64;
        pg_action *grown = realloc(s->acts[rank], sizeof(pg_action) * (size_t)cap);
        if (!grown) return pg_error(PG_ENOMEM, "schedule: out of memory");
        s->acts[rank] = grown;
        s->cap[rank] = cap;
    }
    s->acts[rank][s->len[rank]++] = a;
    return 0;
}

const char *pg_action_str(pg_action a, char buf[32])
{
    if (a.kind == PG_OPTIM) snprintf(buf, 32, "OPTIM");
    else if (a.kind == PG_REDUCE) snprintf(buf, 32, "%dREDUCE", a.stage);
    else snprintf(buf, 32, "%d%s%d", a.stage, KIND_NAMES[a.kind], a.mb);
    return buf;
}

int pg_action_parse(const char *text, pg_action *a)
{
    if (!strcmp(text, "OPTIM")) {
        *a = (pg_action){PG_OPTIM, -1, -1};
        return 0;
    }
    const char *p = text;
    if (!isdigit((unsigned char)*p)) return -1;
    long stage = strtol(p, (char **)&p, 10);
    if (stage < 0 || stage > 1000000) return -1;
    if (!strcmp(p, "REDUCE")) {
        *a = (pg_action){PG_REDUCE, (int)stage, -1};
        return 0;
    }
    /* longest kind name first so that SEND_F is not read as S... */
    for (int k = PG_ACT_KINDS - 1; k >= 0; k--) {
        size_t n = strlen(KIND_NAMES[k]);
        if (k == PG_REDUCE || k == PG_OPTIM || strncmp(p, KIND_NAMES[k], n)) continue;
        const char *q = p + n;
        if (!isdigit((unsigned char)*q)) continue;
        char *end = NULL;
        long mb = strtol(q, &end, 10);
        if (*end || mb < 0 || mb > 1000000) return -1;
        *a = (pg_action){k, (int)stage, (int)mb};
        return 0;
    }
    return -1;
}

void pg_schedule_print_lists(const pg_schedule *s, FILE *f, int all)
{
    char buf[32];
    for (int r = 0; r < s->pp; r++) {
        fprintf(f, "rank %d:", r);
        for (int i = 0; i < s->len[r]; i++) {
            pg_action a = s->acts[r][i];
            if (all || pg_act_is_compute(a.kind)) fprintf(f, " %s", pg_action_str(a, buf));
        }
        fputc('\n', f);
    }
}

/* Strip a '#' comment and a "rank N:" prefix (as printed by pipegrid
 * schedule) from a line, in place. */
static char *clean_line(char *line)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *colon = strchr(line, ':');
    if (colon && !strncmp(line, "rank", 4)) line = colon + 1;
    return line;
}

int pg_schedule_parse(pg_schedule **out, const char *text, const char *origin, int nmb)
{
    *out = NULL;
    /* read every action once, remembering its rank (line) and line number */
    typedef struct item {
        pg_action a;
        int rank, line;
    } item;
    item *items = NULL;
    int n = 0, cap = 0, pp = 0, max_stage = -1, max_mb = -1, has_comm = 0, line_no = 0, rc = 0;
    char *copy = strdup(text);
    if (!copy) return pg_error(PG_ENOMEM, "schedule: out of memory");
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line && !rc;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        int any = 0;
        for (char *s2 = NULL, *tok = strtok_r(clean_line(line), " \t\r", &s2); tok && !rc;
             tok = strtok_r(NULL, " \t\r", &s2)) {
            pg_action a;
            if (pg_action_parse(tok, &a)) {
                rc = pg_error(PG_EFORMAT,
                              "%s: line %d: cannot read action '%s' (expected e.g. 2F0, 1I3, "
                              "0W3, 1SEND_F0, 0REDUCE, OPTIM)",
                              origin, line_no, tok);
                break;
            }
            if (n == cap) {
                cap = cap ? 2 * cap : 256;
                item *grown = realloc(items, sizeof(item) * (size_t)cap);
                if (!grown) {
                    rc = pg_error(PG_ENOMEM, "schedule: out of memory");
                    break;
                }
                items = grown;
            }
            items[n++] = (item){a, pp, line_no};
            any = 1;
            if (a.stage > max_stage) max_stage = a.stage;
            if (a.mb > max_mb) max_mb = a.mb;
            if (!pg_act_is_compute(a.kind)) has_comm = 1;
        }
        pp += any;
    }
    free(copy);
    pg_schedule *s = NULL;
    if (rc) goto fail;
    if (pp == 0) {
        rc = pg_error(PG_EFORMAT, "%s: no actions found", origin);
        goto fail;
    }
    if (nmb <= 0) nmb = max_mb + 1;
    if (max_mb >= nmb) {
        rc = pg_error(PG_EFORMAT, "%s: microbatch %d used, but the run has %d microbatches",
                      origin, max_mb, nmb);
        goto fail;
    }
    if (max_stage + 1 < pp) {
        rc = pg_error(PG_EFORMAT, "%s: %d ranks but only %d stages", origin, pp, max_stage + 1);
        goto fail;
    }
    if ((rc = pg_schedule_new(&s, "file", pp, max_stage + 1, nmb))) goto fail;
    for (int st = 0; st < s->nstages; st++) s->stage_rank[st] = -1;
    for (int i = 0; i < n; i++) {
        pg_action a = items[i].a;
        int r = items[i].rank;
        if (pg_act_is_compute(a.kind)) {
            int *owner = &s->stage_rank[a.stage];
            char buf[32];
            if (*owner == -1) *owner = r;
            else if (*owner != r) {
                rc = pg_error(PG_EFORMAT,
                              "%s: line %d: rank %d runs %s, but stage %d belongs to rank %d (a "
                              "stage lives on one rank)",
                              origin, items[i].line, r, pg_action_str(a, buf), a.stage, *owner);
                goto fail;
            }
        }
        if ((rc = pg_schedule_push(s, r, a))) goto fail;
    }
    for (int st = 0; st < s->nstages; st++)
        if (s->stage_rank[st] == -1) {
            rc = pg_error(PG_EFORMAT, "%s: stage %d has no compute actions on any rank", origin,
                          st);
            goto fail;
        }
    if (!has_comm && (rc = pg_schedule_add_comms(s))) goto fail;
    if ((rc = pg_schedule_validate(s))) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", pg_errmsg());
        rc = pg_error(rc, "%s: %s", origin, msg);
        goto fail;
    }
    free(items);
    *out = s;
    return 0;
fail:
    free(items);
    pg_schedule_free(s);
    return rc;
}

void pg_schedule_marks(const pg_schedule *s, int rank, unsigned char *last_use,
                       unsigned char *final_grad)
{
    int len = s->len[rank];
    const pg_action *acts = s->acts[rank];
    for (int i = 0; i < len; i++) {
        int later_use = 0, later_grad = 0;
        for (int j = i + 1; j < len; j++) {
            int same = acts[j].stage == acts[i].stage;
            later_use |= same && acts[j].mb == acts[i].mb;
            later_grad |= same && (acts[j].kind == PG_B || acts[j].kind == PG_W);
        }
        last_use[i] = acts[i].mb >= 0 && !later_use;
        final_grad[i] = (acts[i].kind == PG_B || acts[i].kind == PG_W) && !later_grad;
    }
}
