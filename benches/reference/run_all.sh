#!/bin/bash
# The whole-workload benchmark session of docs/benchmarks.md: feasible (criterion) and the
# PyTorch references, back to back. Needs a venv with torch and cooper-optim (PY=...) and
# ../shared/bench/torch_reference.py; writes raw outputs into $OUT (default /tmp/bench).
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/bench}; mkdir -p "$OUT"
PY=${PY:-$HOME/ref-venv/bin/python}
date > $OUT/started
cargo bench --bench training --no-run >/dev/null 2>&1
RAYON_NUM_THREADS=2 cargo bench --bench training -- --warm-up-time 1 --measurement-time 4 --noplot > $OUT/training_2t.txt 2>&1
: > $OUT/torch.jsonl
for task in logreg mlp; do for m in erm fl fl_manual; do
  $PY ../shared/bench/torch_reference.py --task $task --method $m --threads 2 --epochs 3 >> $OUT/torch.jsonl 2>>$OUT/torch.err
done; done
for m in erm fl; do $PY benches/reference/torch_two_moons.py --method $m --threads 2 >> $OUT/torch.jsonl 2>>$OUT/torch.err; done
RAYON_NUM_THREADS=1 cargo bench --bench training -- --warm-up-time 1 --measurement-time 4 --noplot > $OUT/training_1t.txt 2>&1
$PY ../shared/bench/torch_reference.py --task logreg --method fl --threads 1 --epochs 3 >> $OUT/torch.jsonl 2>>$OUT/torch.err
$PY ../shared/bench/torch_reference.py --task mlp --method fl --threads 1 --epochs 2 >> $OUT/torch.jsonl 2>>$OUT/torch.err
$PY benches/reference/torch_two_moons.py --method fl --threads 1 >> $OUT/torch.jsonl 2>>$OUT/torch.err
cargo bench --bench kernels -- --warm-up-time 1 --measurement-time 4 --noplot 'raw_gemm|mlp_batch256' > $OUT/kernels.txt 2>&1
date > $OUT/done
