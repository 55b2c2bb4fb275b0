"""Whole-process benchmark: ``bptt``'s numpy engine vs PyTorch CPU autograd on an LSTM.

    python tests/benchmarks/bench_numpy_vs_torch.py [--runs 3] [--threads N] [--no-scaling]

A script, not a pytest test (pytest only collects ``test_*.py``).  Each side is a
fresh ``python -c`` process that imports its library, loads the same weights,
input and ``dout`` from an ``.npz`` file and computes dL/d(everything) for
L = sum(dout * output) in float64; the wall time of the whole process is
measured (median of ``--runs``).  Both processes get the same environment with
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` removed (they pin OpenBLAS to a
slower kernel); ``--threads N`` sets the BLAS/OpenMP thread count of both.
Prints Markdown tables for the README.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]

OURS = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from derive.grad import torch_grads
t1 = time.perf_counter()
d = np.load(sys.argv[1])
sd = {k: d[k] for k in d.files if k.startswith(("weight", "bias"))}
t2 = time.perf_counter()
g = torch_grads("lstm", sd, d["X"], dout=d["dout"], engine="numpy")
t3 = time.perf_counter()
if len(sys.argv) > 2:
    np.savez(sys.argv[2], **g)
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "compute": t3 - t2}))
"""

TORCH = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import torch
t1 = time.perf_counter()
d = np.load(sys.argv[1])
n_x, n_h = d["weight_ih_l0"].shape[1], d["weight_hh_l0"].shape[1]
m = torch.nn.LSTM(n_x, n_h).double()
m.load_state_dict({k: torch.from_numpy(d[k]) for k in d.files if k.startswith(("weight", "bias"))})
x = torch.from_numpy(d["X"]).requires_grad_()
dout = torch.from_numpy(d["dout"])
t2 = time.perf_counter()
out, _ = m(x)
(dout * out).sum().backward()
t3 = time.perf_counter()
if len(sys.argv) > 2:
    g = {k: p.grad.numpy() for k, p in m.named_parameters()}
    np.savez(sys.argv[2], output=out.detach().numpy(), input=x.grad.numpy(), **g)
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "compute": t3 - t2}))
"""

BLAS_INFO = r"""
import json, threadpoolctl, numpy
rows = [{k: i.get(k) for k in ("internal_api", "prefix", "version", "architecture", "num_threads")}
        for i in threadpoolctl.threadpool_info()]
try:
    import torch
    rows.append({"internal_api": "torch " + ("mkl" if torch.backends.mkl.is_available() else "blas"),
                 "prefix": "torch " + torch.__version__, "version": "",
                 "architecture": torch.backends.cpu.get_cpu_capability(), "num_threads": torch.get_num_threads()})
except ImportError:
    pass
print(json.dumps(rows))
"""


def bench_env(threads):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    if threads:
        for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[k] = str(threads)
    return env


def make_problem(path, n_x, n_h, T, B, seed=0):
    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(n_h)
    arrays = {"weight_ih_l0": rng.uniform(-s, s, (4 * n_h, n_x)), "weight_hh_l0": rng.uniform(-s, s, (4 * n_h, n_h)),
              "bias_ih_l0": rng.uniform(-s, s, 4 * n_h), "bias_hh_l0": rng.uniform(-s, s, 4 * n_h),
              "X": rng.normal(size=(T, B, n_x)), "dout": rng.normal(size=(T, B, n_h))}
    np.savez(path, **arrays)


def run_once(code, data, env, save=None):
    argv = [sys.executable, "-c", code, str(data)] + ([str(save)] if save else [])
    t = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t
    if out.returncode:
        raise SystemExit(f"benchmark process failed:\n{out.stderr}")
    return wall, json.loads(out.stdout.strip().splitlines()[-1])


def median_run(code, data, env, runs):
    walls, inner = [], []
    for _ in range(runs):
        w, parts = run_once(code, data, env)
        walls.append(w)
        inner.append(parts["compute"])
    return statistics.median(walls), statistics.median(inner), walls


def blas_kernels(env):
    out = subprocess.run([sys.executable, "-c", BLAS_INFO], env=env, capture_output=True, text=True)
    if out.returncode:
        return f"(threadpoolctl unavailable: pip install threadpoolctl) {out.stderr.strip().splitlines()[-1:]}"
    rows = json.loads(out.stdout)
    return "; ".join(f"{r['internal_api']} {r.get('version') or ''} {r.get('architecture') or ''} "
                     f"threads={r['num_threads']} ({r['prefix']})" for r in rows)


def check(tmp, data, env):
    """Untimed run of both sides; worst relative error over every shared output."""
    a, b = tmp / "ours.npz", tmp / "torch.npz"
    run_once(OURS, data, env, a)
    run_once(TORCH, data, env, b)
    x, y = np.load(a), np.load(b)
    errs = {k: np.linalg.norm(x[k] - y[k]) / max(np.linalg.norm(y[k]), 1e-300) for k in y.files if k in x.files}
    return max(errs.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="BLAS/OpenMP threads for both sides (0: default)")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--T", type=int, default=800)
    ap.add_argument("--B", type=int, default=32)
    args = ap.parse_args(argv)
    env = bench_env(args.threads)
    print(f"CPUs: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print(f"BLAS: {blas_kernels(env)}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        data = tmp / "lstm.npz"
        make_problem(data, 128, 256, args.T, args.B)
        err = check(tmp, data, env)
        ours = median_run(OURS, data, env, args.runs)
        theirs = median_run(TORCH, data, env, args.runs)
        print(f"\nLSTM n_x=128, n_h=256, T={args.T}, B={args.B}, float64, forward + backward, "
              f"median of {args.runs} (max rel. difference of all gradients: {err:.1e})\n")
        print("| engine | whole process (s) | forward+backward only (s) | runs (s) |")
        print("|---|---:|---:|---|")
        for name, (wall, inner, walls) in (("bptt numpy engine", ours), ("PyTorch nn.LSTM autograd", theirs)):
            print(f"| {name} | {wall:.2f} | {inner:.2f} | {', '.join(f'{w:.2f}' for w in walls)} |")
        print(f"\nratio (ours / PyTorch), whole process: {ours[0] / theirs[0]:.2f}x")
        if not args.no_scaling:
            scaling(tmp, env, args)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


def scaling(tmp, env, args):
    print("\nbptt numpy engine, LSTM n_x=128, B=32, float64: how time grows\n")
    print("| T | n_h | whole process (s) | forward+backward only (s) |")
    print("|---:|---:|---:|---:|")
    for T, n_h in [(100, 256), (200, 256), (400, 256), (800, 256), (800, 64), (800, 128)]:
        data = tmp / f"s_{T}_{n_h}.npz"
        make_problem(data, 128, n_h, T, args.B)
        wall, inner, _ = median_run(OURS, data, env, args.runs)
        print(f"| {T} | {n_h} | {wall:.2f} | {inner:.2f} |")


if __name__ == "__main__":
    main()
