/* schedule.c: `pipegrid schedule` prints, checks and simulates a schedule. */
#include "../error.h"
#include "../schedule.h"
#include "../simulate.h"
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
    fputs("usage: pipegrid schedule [options]\n"
          "\n"
          "Build a pipeline schedule (or read one from a file), validate it (every\n"
          "forward before its backward, every send matched by a receive, no deadlock),\n"
          "and print each rank's action list and the action grid predicted with unit\n"
          "costs (forward 1, backward 2). Needs no MPI.\n"
          "\n"
          "options:\n"
          "  -p, --pp P              pipeline ranks (default 4)\n"
          "  -m, --microbatches M    microbatches per step (default 8)\n"
          "  -s, --schedule NAME     gpipe | 1f1b | interleaved | zbh1 | zbv (default 1f1b)\n"
          "  -v, --chunks V          model chunks per rank (interleaved: 2 or more;\n"
          "                          default: the schedule's own)\n"
          "  -f, --file FILE         read the schedule from FILE: one line per rank,\n"
          "                          actions like '0F0 0F1 0B0 0B1' ('#' comments);\n"
          "                          sends and receives are added when absent\n"
          "  -a, --all               list communication actions too\n"
          "  -h, --help              this text\n"
          "\n"
          "Actions print as STAGE KIND MICROBATCH: 2F0 is stage 2's forward of microbatch\n"
          "0; B = backward, or split into I (input gradient) and W (weight gradient);\n"
          "SEND_F/RECV_F move activations, SEND_B/RECV_B gradients;\n"
          "REDUCE is the gradient allreduce of a stage, OPTIM the optimizer step.\n"
          "\n"
          "examples:\n"
          "  pipegrid schedule --pp 4 --microbatches 8 --schedule 1f1b\n"
          "  pipegrid schedule --pp 2 -m 3 --schedule gpipe --all\n"
          "  pipegrid schedule --pp 4 -m 9 --schedule interleaved --chunks 2\n"
          "  pipegrid schedule --pp 4 -m 8 --schedule zbh1\n"
          "  pipegrid schedule --file my_schedule.txt\n",
          f);
}

static int positive(const char *opt, const char *v, int *out)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < 1 || n > 100000)
        return pg_error(PG_EINVAL, "%s: expected a positive integer, got '%s'", opt, v);
    *out = (int)n;
    return 0;
}

int pg_cmd_schedule(int argc, char **argv)
{
    static const struct option opts[] = {
        {"pp", required_argument, 0, 'p'},       {"microbatches", required_argument, 0, 'm'},
        {"schedule", required_argument, 0, 's'}, {"file", required_argument, 0, 'f'},
        {"all", no_argument, 0, 'a'},            {"help", no_argument, 0, 'h'},
        {"chunks", required_argument, 0, 'v'},
        {0, 0, 0, 0},
    };
    int pp = 4, nmb = 8, v = 0, all = 0, c, rc = 0;
    const char *name = "1f1b", *file = NULL;
    optind = 1;
    opterr = 0;
    while (!rc && (c = getopt_long(argc, argv, ":p:m:s:f:v:ah", opts, NULL)) != -1) {
        switch (c) {
        case 'p': rc = positive("--pp", optarg, &pp); break;
        case 'm': rc = positive("--microbatches", optarg, &nmb); break;
        case 'v': rc = positive("--chunks", optarg, &v); break;
        case 's': name = optarg; break;
        case 'f': file = optarg; break;
        case 'a': all = 1; break;
        case 'h': help(stdout); return PG_EXIT_OK;
        case ':': rc = pg_error(PG_EINVAL, "option '%s' needs a value", argv[optind - 1]); break;
        default:
            rc = pg_error(PG_EINVAL, "unknown option '%s' (see pipegrid schedule --help)",
                          argv[optind - 1]);
        }
    }
    if (rc) {
        pg_cli_error(pg_errmsg());
        return PG_EXIT_USAGE;
    }
    pg_schedule *s = NULL;
    if (file) {
        rc = pg_schedule_load(&s, file, 0);
    } else {
        rc = pg_schedule_build(&s, name, pp, v, nmb);
    }
    if (rc) {
        pg_cli_error(pg_errmsg());
        return PG_EXIT_FAIL;
    }
    pg_sim_result sim;
    if ((rc = pg_simulate_uniform(s, 1.0, 1.0, 1.0, &sim))) {
        pg_cli_error(pg_errmsg());
        pg_schedule_free(s);
        return PG_EXIT_FAIL;
    }
    printf("schedule %s: pp=%d, %d stages, %d microbatches (valid, no deadlock)\n\n", s->name,
           s->pp, s->nstages, s->nmb);
    pg_schedule_print_lists(s, stdout, all);
    printf("\naction grid (unit costs: F=1, B=2; '..' = idle):\n");
    pg_sim_print_grid(s, &sim, 1.0, stdout);
    printf("\npredicted step: %.0f units", sim.step_time);
    if (s->nstages == s->pp)
        printf("; ideal (m+p-1)(f+b) = %d units", (s->nmb + s->pp - 1) * 3);
    printf("\n%-6s %8s %8s %14s\n", "rank", "busy", "bubble", "peak in-flight");
    for (int r = 0; r < s->pp; r++)
        printf("%-6d %8.0f %7.1f%% %14d\n", r, sim.busy[r], 100.0 * sim.bubble[r],
               sim.peak_inflight[r]);
    printf("theory: bubble (p-1)/(m+p-1) = %.1f%% for GPipe and 1F1B\n",
           100.0 * (s->pp - 1) / (s->nmb + s->pp - 1));
    pg_sim_result_free(&sim);
    pg_schedule_free(s);
    return PG_EXIT_OK;
}
