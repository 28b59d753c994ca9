"""PyTorch reference for the two-moons run (the reproduction example's setting), timing
the training loop only (imports, data and model construction excluded).

MLP 2->70->70->2 ReLU (PyTorch default init), AdamW lr 5e-4 (wd 1e-2), full batch of 512,
250 steps; ERM, or FL with per-sample multipliers (dual step first, lr 1e-2,
eps = ln(1/0.6)), in plain PyTorch. Prints one JSON line with the seconds of each repeat
and their median.

usage: ~/ref-venv/bin/python benches/reference/torch_two_moons.py --method erm|fl [--threads 2] [--repeats 5]
"""
import argparse
import json
import math
import time

import numpy as np
import torch


def moons(n, noise, seed):
    rng = np.random.default_rng(seed)
    n_out = (n + 1) // 2
    n_in = n - n_out
    t_out = np.linspace(0, math.pi, n_out)
    t_in = np.linspace(0, math.pi, n_in)
    x = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    x += noise * rng.standard_normal(x.shape)
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)]).astype(np.int64)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y)


def run(method, x, y):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 70), torch.nn.ReLU(), torch.nn.Linear(70, 70),
                                torch.nn.ReLU(), torch.nn.Linear(70, 2))
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4)
    lam = torch.zeros(x.shape[0])
    eps = math.log(1 / 0.6)
    t0 = time.perf_counter()
    for _ in range(250):
        opt.zero_grad()
        losses = torch.nn.functional.cross_entropy(model(x), y, reduction="none")
        if method == "erm":
            obj = losses.mean()
        else:
            with torch.no_grad():
                lam = torch.clamp(lam + 1e-2 * (losses - eps), min=0.0)
            obj = (lam * (losses - eps)).sum()
        obj.backward()
        opt.step()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="fl", choices=["erm", "fl"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    x, y = moons(512, 0.1, 0)
    secs = [run(a.method, x, y) for _ in range(a.repeats)]
    print(json.dumps({"task": "two_moons", "method": a.method, "threads": a.threads,
                      "seconds": secs, "median": float(np.median(secs))}))


if __name__ == "__main__":
    main()
