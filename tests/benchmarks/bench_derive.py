"""Benchmarks for the derive core (a script, not a test): run `python tests/benchmarks/bench_derive.py`.

1. Derivation time against T: `derive_cell(cell, steps=T)` + Markdown rendering, in process,
   for T = 1 ... 64 (the unrolled section is the part that grows with T).
2. `bptt grad` on a T = 40 LSTM (n_x = 32, n_h = 64, B = 8), whole process, symbolic engine
   (cold: empty code cache; warm: cached generated code) against the numpy engine.
3. Symbolic engine time against T (warm cache), to show linear growth.
Prints Markdown tables for the README. Medians of repeated runs.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def median_time(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def derivation_vs_T():
    from derive.api import derive_cell, load
    from derive.render import render
    print("| T | rnn (s) | lstm (s) |\n|---:|---:|---:|")
    for T in (1, 2, 4, 8, 16, 32, 64):
        row = [median_time(lambda n=n: render(derive_cell(load(n), steps=T), "markdown", "en"), 1)
               for n in ("rnn", "lstm")]
        print(f"| {T} | {row[0]:.2f} | {row[1]:.2f} |", flush=True)


def write_case(d, T, n_x=32, n_h=64, B=8, seed=0):
    from derive.arrays_io import save_npz
    from derive.weights import init_weights
    rng = np.random.default_rng(seed)
    save_npz(os.path.join(d, "w.npz"), init_weights("lstm", n_x, n_h, "pytorch", rng))
    np.save(os.path.join(d, f"x{T}.npy"), rng.normal(size=(T, B, n_x)))


def run(d, T, engine, env):
    cmd = [sys.executable, "-m", "derive.cli", "grad", "lstm", "--weights", "w.npz", "--input", f"x{T}.npy",
           "--out", "g.npz", "--engine", engine]
    subprocess.run(cmd, cwd=d, env=env, check=True)


def engines_T40(d):
    env = {**os.environ, "BPTT_CACHE_DIR": os.path.join(d, "cache")}
    write_case(d, 40)
    numpy_t = median_time(lambda: run(d, 40, "numpy", env), 5)
    cold = median_time(lambda: run(d, 40, "symbolic", {**env, "BPTT_CACHE": "0"}), 3)
    run(d, 40, "symbolic", env)
    warm = median_time(lambda: run(d, 40, "symbolic", env), 5)
    print("\n| engine (T = 40 LSTM, whole process) | seconds | vs numpy |\n|---|---:|---:|")
    for name, t in (("numpy", numpy_t), ("symbolic, warm code cache", warm), ("symbolic, cold (no cache)", cold)):
        print(f"| {name} | {t:.2f} | {t / numpy_t:.1f}x |")
    return env


def symbolic_vs_T(d, env):
    print("\n| T | symbolic, warm (s) | numpy (s) |\n|---:|---:|---:|")
    for T in (10, 40, 160, 640):
        write_case(d, T)
        s = median_time(lambda: run(d, T, "symbolic", env), 3)
        n = median_time(lambda: run(d, T, "numpy", env), 3)
        print(f"| {T} | {s:.2f} | {n:.2f} |", flush=True)


if __name__ == "__main__":
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, numpy {np.__version__}")
    derivation_vs_T()
    with tempfile.TemporaryDirectory() as d:
        env = engines_T40(d)
        symbolic_vs_T(d, env)
