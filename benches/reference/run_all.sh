#!/bin/bash
# The whole-workload benchmark session of docs/benchmarks.md: feasible (criterion) and the
# PyTorch references, interleaved in ROUNDS rounds (default 3). Each round runs, back to
# back: feasible on 2 threads, PyTorch on 2 threads, feasible on 1 thread, PyTorch on 1
# thread, and matrixmultiply alone on the MLP's shapes. The shared VM this was written on
# changes speed by up to 30 % for minutes at a time, so every ratio is taken within one
# round and the summary reports each round and their median.
#
# Needs a venv with torch and cooper-optim (PY=...) and ../shared/bench/torch_reference.py;
# writes raw outputs into $OUT (default /tmp/bench) and the table into $OUT/summary.md
# (benches/reference/summarize.py).
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/bench}; mkdir -p "$OUT"
PY=${PY:-$HOME/ref-venv/bin/python}
ROUNDS=${ROUNDS:-3}
CRIT="--warm-up-time 1 --measurement-time 3 --noplot"
TORCH=../shared/bench/torch_reference.py
MOONS=benches/reference/torch_two_moons.py
date -u > "$OUT/started"
cargo bench --bench training --no-run >/dev/null 2>&1
cargo bench --bench kernels --no-run >/dev/null 2>&1
for r in $(seq 1 "$ROUNDS"); do
  RAYON_NUM_THREADS=2 cargo bench --bench training -- $CRIT > "$OUT/training_2t_r$r.txt" 2>&1
  : > "$OUT/torch_2t_r$r.jsonl"
  for task in logreg mlp; do for m in erm fl fl_manual; do
    $PY $TORCH --task $task --method $m --threads 2 --epochs 3 >> "$OUT/torch_2t_r$r.jsonl" 2>>"$OUT/torch.err"
  done; done
  for m in erm fl; do $PY $MOONS --method $m --threads 2 >> "$OUT/torch_2t_r$r.jsonl" 2>>"$OUT/torch.err"; done
  RAYON_NUM_THREADS=1 cargo bench --bench training -- $CRIT 'logreg_epoch/(erm|fl)$|mlp_epoch|two_moons' > "$OUT/training_1t_r$r.txt" 2>&1
  : > "$OUT/torch_1t_r$r.jsonl"
  $PY $TORCH --task logreg --method fl --threads 1 --epochs 3 >> "$OUT/torch_1t_r$r.jsonl" 2>>"$OUT/torch.err"
  $PY $TORCH --task mlp --method fl --threads 1 --epochs 2 >> "$OUT/torch_1t_r$r.jsonl" 2>>"$OUT/torch.err"
  $PY $MOONS --method fl --threads 1 >> "$OUT/torch_1t_r$r.jsonl" 2>>"$OUT/torch.err"
  cargo bench --bench kernels -- $CRIT 'mlp_epoch/raw_gemm' > "$OUT/kernels_r$r.txt" 2>&1
done
date -u > "$OUT/done"
python3 benches/reference/summarize.py "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
