# Plots delivery latency against offered load (docs/benchmarks.md):
#   gnuplot bench/plot-latency.gp   (from the repository root)
set terminal pngcairo size 900,520 font "sans,10"
set output "docs/bench/pairs-latency.png"
set title "Scenario (b), 200 connections in 100 pairs: delivery latency vs offered load"
set xlabel "offered load (messages/s)"
set ylabel "delivery latency from intended send time (ms)"
set logscale y
set grid
set key top left
plot "docs/bench/pairs-latency.tsv" using 1:3 with linespoints title "parleyd p50", \
     "" using 1:4 with linespoints title "parleyd p99", \
     "" using 1:6 with linespoints dashtype 2 title "node-ws p50 (nothing stored)", \
     "" using 1:7 with linespoints dashtype 2 title "node-ws p99 (nothing stored)"
