"""Summarises a benchmark session of benches/reference/run_all.sh: for every round, the
criterion medians of feasible, the PyTorch medians measured right after them, and the
ratios the speed targets of docs/benchmarks.md are stated in; then the median of each
figure over the rounds. Standard library only.

usage: python3 benches/reference/summarize.py OUT_DIR > summary.md
"""
import json
import re
import statistics
import sys
from pathlib import Path

UNIT = {"ps": 1e-9, "ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
# A bench id at the start of a line (criterion prints it alone, or followed by `time:`).
NAME = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_/.\-]*)(\s|$)")
SKIP = ("Benchmarking", "Found", "Gnuplot", "Running", "Finished", "Compiling")
TIME = re.compile(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]")


def criterion(path):
    """{bench id: median in ms} from criterion's console output."""
    out, name = {}, None
    for line in Path(path).read_text().splitlines():
        m = NAME.match(line)
        if m and not line.startswith(SKIP):
            name = m.group(1)
        t = TIME.search(line)
        if t and name is not None and name not in out:
            out[name] = float(t.group(1)) * UNIT[t.group(2)]
    return out


def torch(path):
    """{(task, method): median in ms} from the PyTorch scripts' JSON lines."""
    out = {}
    for line in Path(path).read_text().splitlines():
        r = json.loads(line)
        secs = r.get("median_epoch_s", r.get("median"))
        out[(r["task"], r["method"])] = secs * 1e3
    return out


def rows_for(out, r):
    f2 = criterion(out / f"training_2t_r{r}.txt")
    f1 = criterion(out / f"training_1t_r{r}.txt")
    k = criterion(out / f"kernels_r{r}.txt")
    t2 = torch(out / f"torch_2t_r{r}.jsonl")
    t1 = torch(out / f"torch_1t_r{r}.jsonl")
    g = lambda d, key: d.get(key, float("nan"))
    fl2, erm2 = g(f2, "logreg_epoch/fl"), g(f2, "logreg_epoch/erm")
    m_fl2, m_erm2 = g(f2, "mlp_epoch/fl"), g(f2, "mlp_epoch/erm")
    w_fl2, w_erm2 = g(f2, "two_moons_run/fl"), g(f2, "two_moons_run/erm")
    fl1, erm1 = g(f1, "logreg_epoch/fl"), g(f1, "logreg_epoch/erm")
    m_fl1, m_erm1 = g(f1, "mlp_epoch/fl"), g(f1, "mlp_epoch/erm")
    w_fl1, w_erm1 = g(f1, "two_moons_run/fl"), g(f1, "two_moons_run/erm")
    gemm = g(k, "mlp_epoch/raw_gemm_seq")
    # Two moons' 70 × 70 GEMMs of one full-batch step, one thread: the run's 250 steps
    # split perfectly over two cores (ERM's full backward pass; FL skips part of it).
    moons_floor = g(k, "two_moons/raw_gemm_seq") * 250 / 2
    # Block (quasi-random) order, Shuffle::Blocks { size: 128 }.
    bfl2, berm2 = g(f2, "logreg_epoch/fl_blocks"), g(f2, "logreg_epoch/erm_blocks")
    bfl1, berm1 = g(f1, "logreg_epoch/fl_blocks"), g(f1, "logreg_epoch/erm_blocks")
    m_bfl2, m_bfl1 = g(f2, "mlp_epoch/fl_blocks"), g(f1, "mlp_epoch/fl_blocks")
    floor = g(f2, "logreg_epoch/floor_sum_x")
    return [
        ("times (ms)", None),
        ("logreg FL epoch, 2 threads", fl2),
        ("logreg ERM epoch, 2 threads", erm2),
        ("plain sum over X, one thread", g(f2, "logreg_epoch/floor_sum_x")),
        ("rows of X in a shuffled order, two threads",
         g(f2, "logreg_epoch/floor_sum_x_shuffled_rows_2_threads")),
        ("MLP FL epoch, 2 threads", m_fl2),
        ("MLP ERM epoch, 2 threads", m_erm2),
        ("matrixmultiply alone, MLP epoch's GEMMs, one thread", gemm),
        ("two moons FL run, 2 threads", w_fl2),
        ("two moons ERM run, 2 threads", w_erm2),
        ("two moons run's 70 × 70 GEMMs alone, split over 2 threads", moons_floor),
        ("PyTorch logreg FL (cooper), 2 threads", g(t2, ("logreg", "fl"))),
        ("PyTorch MLP FL (cooper), 2 threads", g(t2, ("mlp", "fl"))),
        ("PyTorch two moons FL loop, 2 threads", g(t2, ("two_moons", "fl"))),
        ("logreg FL epoch, 1 thread", fl1),
        ("MLP FL epoch, 1 thread", m_fl1),
        ("two moons FL run, 1 thread", w_fl1),
        ("logreg FL epoch, block order, 2 threads", bfl2),
        ("logreg ERM epoch, block order, 2 threads", berm2),
        ("MLP FL epoch, block order, 2 threads", m_bfl2),
        ("logreg FL epoch, block order, 1 thread", bfl1),
        ("ratios (targets)", None),
        ("logreg FL / plain sum (≤ 2)", fl2 / g(f2, "logreg_epoch/floor_sum_x")),
        ("logreg FL / shuffled read, 2 threads",
         fl2 / g(f2, "logreg_epoch/floor_sum_x_shuffled_rows_2_threads")),
        ("MLP FL rate / GEMM rate, 2 threads vs one (≥ 0.6)", gemm / m_fl2),
        ("MLP FL rate / GEMM rate, one thread each (≥ 0.6)", gemm / m_fl1),
        ("FL / ERM logreg, 2 threads (≤ 1.05)", fl2 / erm2),
        ("FL / ERM MLP, 2 threads (≤ 1.05)", m_fl2 / m_erm2),
        ("FL / ERM two moons, 2 threads (≤ 1.05)", w_fl2 / w_erm2),
        ("FL / ERM logreg, 1 thread (≤ 1.05)", fl1 / erm1),
        ("FL / ERM MLP, 1 thread (≤ 1.05)", m_fl1 / m_erm1),
        ("FL / ERM two moons, 1 thread (≤ 1.05)", w_fl1 / w_erm1),
        ("PyTorch / feasible, logreg FL, 2 threads (≥ 10)", g(t2, ("logreg", "fl")) / fl2),
        ("PyTorch / feasible, MLP FL, 2 threads (≥ 2.5)", g(t2, ("mlp", "fl")) / m_fl2),
        ("PyTorch / feasible, two moons FL, 2 threads (≥ 10)",
         g(t2, ("two_moons", "fl")) / w_fl2),
        ("PyTorch / that GEMM floor, two moons, 2 threads", g(t2, ("two_moons", "fl")) / moons_floor),
        ("PyTorch / feasible, logreg FL, 1 thread", g(t1, ("logreg", "fl")) / fl1),
        ("PyTorch / feasible, MLP FL, 1 thread", g(t1, ("mlp", "fl")) / m_fl1),
        ("PyTorch / feasible, two moons FL, 1 thread", g(t1, ("two_moons", "fl")) / w_fl1),
        ("scaling 1 → 2 threads, logreg FL / ERM", (fl1 / fl2, erm1 / erm2)),
        ("scaling 1 → 2 threads, MLP FL / ERM", (m_fl1 / m_fl2, m_erm1 / m_erm2)),
        ("scaling 1 → 2 threads, two moons FL / ERM", (w_fl1 / w_fl2, w_erm1 / w_erm2)),
        ("ratios in block order (Shuffle::Blocks { size: 128 })", None),
        ("logreg FL / plain sum (≤ 2)", bfl2 / floor),
        ("FL / ERM logreg, 2 threads (≤ 1.05)", bfl2 / berm2),
        ("FL / ERM logreg, 1 thread (≤ 1.05)", bfl1 / berm1),
        ("PyTorch / feasible, logreg FL, 2 threads (≥ 10)", g(t2, ("logreg", "fl")) / bfl2),
        ("PyTorch / feasible, MLP FL, 2 threads (≥ 2.5)", g(t2, ("mlp", "fl")) / m_bfl2),
        ("MLP FL rate / GEMM rate, one thread each (≥ 0.6)", gemm / m_bfl1),
        ("scaling 1 → 2 threads, logreg FL / ERM", (bfl1 / bfl2, berm1 / berm2)),
    ]


def fmt(v):
    if isinstance(v, tuple):
        return " / ".join(fmt(x) for x in v)
    if v != v:
        return "n/a"  # a bench or PyTorch run missing from this round's outputs
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def median(vals):
    """Median of the figures present (NaN marks a missing one)."""
    present = [v for v in vals if v == v]
    return statistics.median(present) if present else float("nan")


def main():
    out = Path(sys.argv[1])
    rounds = sorted(int(p.stem.rsplit("_r", 1)[1]) for p in out.glob("training_2t_r*.txt"))
    table = [rows_for(out, r) for r in rounds]
    head = "| figure | " + " | ".join(f"round {r}" for r in rounds) + " | median |"
    print(f"Session {(out / 'started').read_text().strip()} to "
          f"{(out / 'done').read_text().strip()}, {len(rounds)} rounds.\n")
    print(head)
    print("|---" * (len(rounds) + 2) + "|")
    for i, (label, first) in enumerate(table[0]):
        if first is None:
            print(f"| **{label}** |" + " |" * (len(rounds) + 1))
            continue
        vals = [t[i][1] for t in table]
        if isinstance(first, tuple):
            med = tuple(median([v[j] for v in vals]) for j in range(len(first)))
        else:
            med = median(vals)
        print(f"| {label} | " + " | ".join(fmt(v) for v in vals) + f" | {fmt(med)} |")


if __name__ == "__main__":
    main()
