# Draws the benchmark results as one PNG: a panel per workload.
#   gnuplot -e "dir='RESULTS_DIR'" benchmarks/chart.gp      (writes RESULTS_DIR/chart.png)
# Reads the chart-W*.dat files qtchannel-bench writes. All but W6: median time per item as a bar
# (QtChannel blue, peers grey) with the min-max range, on a log scale. W6: QtChannel's cost per
# waiter or item against the number of pending gets per channel, with Qt's bare-future floors.

if (!exists("dir")) dir = "."
files = system("ls " . dir . "/chart-W*.dat 2>/dev/null | grep -v W6")
has_w6 = system("test -s " . dir . "/chart-W6.dat && echo 1 || echo 0") + 0
panels = words(files) + has_w6
if (panels == 0) { print "chart.gp: no chart-W*.dat in " . dir; exit status 1 }

columns = panels > 2 ? 3 : panels
rows = (panels + columns - 1) / columns
set terminal pngcairo size 620 * columns, 520 * rows font "DejaVu Sans,10" noenhanced
set output dir . "/chart.png"
set multiplot layout rows, columns title "QtChannel against its peers (lower is faster)" font ",14"

qt_blue = 0x1f6fb4
peer_grey = 0xa8a8a8
set style fill solid 0.85 border -1
set boxwidth 0.7
set logscale y
set grid ytics mytics lc rgb "#dddddd"
set xtics rotate by 40 right nomirror
set ytics nomirror
set key off
set bmargin 9
set format y "%g"

do for [f in files] {
    heading = system("head -n 1 " . f . " | cut -c 3-")
    set title heading
    set ylabel "ns (log scale)"
    plot f using 0:2:(0.7):($5 > 0 ? qt_blue : peer_grey):xtic(1) with boxes lc rgb variable, \
         f using 0:2:3:4 with yerrorbars lc rgb "#303030" pt -1
}

if (has_w6) {
    f = dir . "/chart-W6.dat"
    set title system("head -n 1 " . f . " | cut -c 3-")
    set logscale x
    set xrange [0.5:20000]
    set xtics ("1" 1, "100" 100, "10,000" 10000) norotate
    set xlabel "pending gets per channel (K)"
    set ylabel "ns per waiter or item"
    unset logscale y
    set yrange [0:*]
    set bmargin 9
    set key below maxrows 3 width -8
    plot f using 1:2 with linespoints lw 2 pt 7 lc rgb qt_blue title "get() while empty (per waiter)", \
         f using 1:3 with linespoints lw 2 pt 5 lc rgb "#d62728" title "item to a pending get (per item)", \
         f using 1:4 with linespoints lw 2 pt 9 lc rgb "#2ca02c" title "close() (per waiter)", \
         f using 1:5 with lines dt 2 lw 1.5 lc rgb "#1f6fb4" title "floor: create a QFuture", \
         f using 1:6 with lines dt 2 lw 1.5 lc rgb "#d62728" title "floor: settle a QFuture"
}
unset multiplot
