/* schedule.c: the action lists, their text form, and schedule files. */
#include "schedule.h"

#include "error.h"

#include <ctype.h>
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

int pg_schedule_parse(pg_schedule **out, const char *text, const char *origin, int nmb)
{
    *out = NULL;
    /* pass 1: rank count, stage count, microbatch count, comm presence */
    int pp = 0, max_stage = -1, max_mb = -1, has_comm = 0;
    char *copy = strdup(text);
    if (!copy) return pg_error(PG_ENOMEM, "schedule: out of memory");
    int line_no = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        /* "rank N:" prefixes, as printed by pipegrid schedule, are allowed */
        char *colon = strchr(line, ':');
        if (colon && !strncmp(line, "rank", 4)) line = colon + 1;
        int any = 0;
        for (char *s2 = NULL, *tok = strtok_r(line, " \t\r", &s2); tok;
             tok = strtok_r(NULL, " \t\r", &s2)) {
            pg_action a;
            if (pg_action_parse(tok, &a)) {
                int rc = pg_error(PG_EFORMAT,
                                  "%s: line %d: cannot read action '%s' (expected e.g. 2F0, 1I3, "
                                  "0W3, 1SEND_F0, 0REDUCE, OPTIM)",
                                  origin, line_no, tok);
                free(copy);
                return rc;
            }
            any = 1;
            if (a.stage > max_stage) max_stage = a.stage;
            if (a.mb > max_mb) max_mb = a.mb;
            if (!pg_act_is_compute(a.kind)) has_comm = 1;
        }
        pp += any;
    }
    free(copy);
    if (pp == 0) return pg_error(PG_EFORMAT, "%s: no actions found", origin);
    if (nmb <= 0) nmb = max_mb + 1;
    if (max_mb >= nmb)
        return pg_error(PG_EFORMAT, "%s: microbatch %d used, but the run has %d microbatches",
                        origin, max_mb, nmb);
    int nstages = max_stage + 1;
    if (nstages < pp)
        return pg_error(PG_EFORMAT, "%s: %d ranks but only %d stages", origin, pp, nstages);
    pg_schedule *s;
    int rc = pg_schedule_new(&s, "file", pp, nstages, nmb);
    if (rc) return rc;
    for (int st = 0; st < nstages; st++) s->stage_rank[st] = -1;
    /* pass 2: actions and stage owners */
    copy = strdup(text);
    if (!copy) {
        pg_schedule_free(s);
        return pg_error(PG_ENOMEM, "schedule: out of memory");
    }
    int rank = 0;
    line_no = 0;
    for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *colon = strchr(line, ':');
        if (colon && !strncmp(line, "rank", 4)) line = colon + 1;
        int any = 0;
        for (char *s2 = NULL, *tok = strtok_r(line, " \t\r", &s2); tok;
             tok = strtok_r(NULL, " \t\r", &s2)) {
            pg_action a;
            pg_action_parse(tok, &a);
            any = 1;
            if (pg_act_is_compute(a.kind)) {
                if (s->stage_rank[a.stage] == -1) s->stage_rank[a.stage] = rank;
                else if (s->stage_rank[a.stage] != rank) {
                    rc = pg_error(PG_EFORMAT,
                                  "%s: line %d: rank %d runs %s, but stage %d belongs to rank "
                                  "%d (a stage lives on one rank)",
                                  origin, line_no, rank, tok, a.stage, s->stage_rank[a.stage]);
                    goto fail;
                }
            }
            if ((rc = pg_schedule_push(s, rank, a))) goto fail;
        }
        rank += any;
    }
    for (int st = 0; st < nstages; st++)
        if (s->stage_rank[st] == -1) {
            rc = pg_error(PG_EFORMAT, "%s: stage %d has no compute actions on any rank", origin,
                          st);
            goto fail;
        }
    free(copy);
    copy = NULL;
    if (!has_comm && (rc = pg_schedule_add_comms(s))) goto fail;
    if ((rc = pg_schedule_validate(s))) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", pg_errmsg());
        rc = pg_error(rc, "%s: %s", origin, msg);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    free(copy);
    pg_schedule_free(s);
    return rc;
}
