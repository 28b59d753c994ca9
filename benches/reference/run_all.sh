#!/bin/bash
# The whole-workload benchmark session of docs/benchmarks.md: feasible (criterion) and the
# PyTorch references, interleaved in ROUNDS rounds (default 3). Each round runs, for each
# workload, feasible and then PyTorch on it right away, on 2 threads, then the same on 1
# thread, then matrixmultiply alone on the MLP's and two moons' GEMM shapes. The shared
# VM this was written on changes speed by up to 30 % for minutes at a time, so every
# ratio is taken within one round and the summary reports each round and their median.
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
# PyTorch's runs for one workload, appended to $2.
torch_runs() {
  case $1 in
    logreg|mlp) for m in erm fl fl_manual; do
        $PY $TORCH --task $1 --method $m --threads 2 --epochs 3 >> "$2" 2>>"$OUT/torch.err"; done ;;
    moons) for m in erm fl; do $PY $MOONS --method $m --threads 2 >> "$2" 2>>"$OUT/torch.err"; done ;;
  esac
}
for r in $(seq 1 "$ROUNDS"); do
  # Two threads: each workload, then PyTorch on it right away (same minute of the VM).
  : > "$OUT/training_2t_r$r.txt"; : > "$OUT/torch_2t_r$r.jsonl"
  for w in logreg:logreg_epoch/ mlp:mlp_epoch/ moons:two_moons_run/; do
    RAYON_NUM_THREADS=2 cargo bench --bench training -- $CRIT "${w#*:}" >> "$OUT/training_2t_r$r.txt" 2>&1
    torch_runs "${w%%:*}" "$OUT/torch_2t_r$r.jsonl"
  done
  RAYON_NUM_THREADS=2 cargo bench --bench training -- $CRIT 'dual_step|metrics' >> "$OUT/training_2t_r$r.txt" 2>&1
  # One thread, the same way.
  : > "$OUT/training_1t_r$r.txt"; : > "$OUT/torch_1t_r$r.jsonl"
  RAYON_NUM_THREADS=1 cargo bench --bench training -- $CRIT 'logreg_epoch/(erm|fl)(_blocks)?$' >> "$OUT/training_1t_r$r.txt" 2>&1
  $PY $TORCH --task logreg --method fl --threads 1 --epochs 3 >> "$OUT/torch_1t_r$r.jsonl" 2>>"$OUT/torch.err"
  RAYON_NUM_THREADS=1 cargo bench --bench training -- $CRIT 'mlp_epoch/' >> "$OUT/training_1t_r$r.txt" 2>&1
  $PY $TORCH --task mlp --method fl --threads 1 --epochs 2 >> "$OUT/torch_1t_r$r.jsonl" 2>>"$OUT/torch.err"
  RAYON_NUM_THREADS=1 cargo bench --bench training -- $CRIT 'two_moons_run/' >> "$OUT/training_1t_r$r.txt" 2>&1
  $PY $MOONS --method fl --threads 1 >> "$OUT/torch_1t_r$r.jsonl" 2>>"$OUT/torch.err"
  cargo bench --bench kernels -- $CRIT 'mlp_epoch/raw_gemm|two_moons/raw_gemm' > "$OUT/kernels_r$r.txt" 2>&1
done
date -u > "$OUT/done"
python3 benches/reference/summarize.py "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
