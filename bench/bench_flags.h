/*
 * bench_flags.h: parsing the benchmark's command line (flags.c), for
 * bench.c. Separate from bench.h because only the entry point needs it.
 */
#ifndef CAIRN_BENCH_FLAGS_H
#define CAIRN_BENCH_FLAGS_H

#include "bench.h"

#include <stdio.h>

#define BENCH_MAX_COPIES 16

enum bench_action {
    BENCH_ACTION_RUN = 0,
    BENCH_ACTION_HELP,
    BENCH_ACTION_ENGINES, /* --list-engines */
    BENCH_ACTION_OPTS     /* --list-cairn-opts */
};

struct bench_flags {
    struct bench_config cfg;
    enum bench_action action;
    /* Private copies of the comma lists; cfg points into them. */
    char *copies[BENCH_MAX_COPIES];
    int n_copies;
};

/* Fills fl from argv (argv[0] is skipped) with db_bench's defaults for
 * what is not given. Returns 0, BENCH_EXIT_USAGE with msg set for a bad
 * command line, or BENCH_EXIT_FAIL on out-of-memory. Call
 * bench_flags_fini afterwards in every case. The configuration may point
 * into argv, which must outlive it. */
int bench_flags_parse(struct bench_flags *fl, int argc, char **argv,
                      struct bench_msg *msg);
void bench_flags_fini(struct bench_flags *fl);

void bench_flags_usage(FILE *f);
/* Prints the names of the engines compiled in, one a line, on stdout. */
void bench_flags_list_engines(void);

#endif
