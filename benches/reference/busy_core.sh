#!/bin/bash
# Training epochs with one of the machine's cores kept busy by another program
# (docs/benchmarks.md, "A busy core"): one thread, two threads, and two threads while a
# shell loop pinned to core 1 competes for that core. BIN=... times another build of the
# profile_epoch example (e.g. an older commit's) with the same workloads.
cd "$(dirname "$0")/../.."
if [ -z "$BIN" ]; then
  cargo build --release --example profile_epoch -q || exit 1
  BIN=target/release/examples/profile_epoch
fi
for w in "logreg fl 20" "mlp fl 2" "moons fl 4" "moons erm 4"; do
  echo "$w | 1 thread: $(RAYON_NUM_THREADS=1 $BIN $w)"
  echo "$w | 2 threads: $(RAYON_NUM_THREADS=2 $BIN $w)"
  taskset -c 1 sh -c 'while :; do :; done' &
  HOG=$!
  sleep 0.2
  echo "$w | 2 threads, core 1 busy: $(RAYON_NUM_THREADS=2 $BIN $w)"
  kill $HOG; wait $HOG 2>/dev/null
done
