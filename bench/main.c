/*
 * main.c: the stand-alone cairn_bench program. Everything lives in
 * cairn_bench_main (bench.c) so that the `cairn` tool can offer the same
 * driver as `cairn bench`.
 */
#include "bench.h"

int main(int argc, char **argv)
{
    return cairn_bench_main(argc, argv);
}
