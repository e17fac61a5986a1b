# plot.gp: docs/performance.png for scripts/bench-compare.sh.
#
# Called as
#   gnuplot -e "workdir='DIR'; workloads='fillrandom fillsync';
#               engines='cairn leveldb rocksdb'; probe='250'; outfile='X.png'"
#           scripts/plot.gp
# where DIR/plot-<workload>.dat holds one row per thread count: the thread
# count, then each engine's median ops/s in the order of `engines` (NaN
# where a run is missing). One panel per workload, ops/s against threads,
# both axes logarithmic; the fillsync panel also draws the disk's raw
# append+fdatasync rate (probe, from syncprobe) as the one-thread ceiling.

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,480 enhanced font "sans,10"
} else {
    set terminal png size 1200,480
}
set output outfile

nw = words(workloads)
ne = words(engines)
set multiplot layout 1, nw title "ops/s against threads (median of the runs)"

set logscale xy
set xtics (1, 2, 4, 8, 16, 32, 64, 128)
set xrange [0.8:80]
set grid xtics ytics mxtics mytics
set key top left
set xlabel "threads"
set ylabel "operations per second"
set format y "%.0s%c"

do for [w = 1:nw] {
    wl = word(workloads, w)
    set title wl
    file = sprintf("%s/plot-%s.dat", workdir, wl)
    if (wl eq "fillsync" && probe + 0 > 0) {
        plot for [e = 1:ne] file using 1:(column(e + 1)) with linespoints \
                 lw 2 pt (e + 4) title word(engines, e), \
             probe + 0 with lines dt 2 lc rgb "gray40" title "disk fdatasync/s"
    } else {
        plot for [e = 1:ne] file using 1:(column(e + 1)) with linespoints \
                 lw 2 pt (e + 4) title word(engines, e)
    }
}
unset multiplot
