"""Quiz start-up and grading benchmarks (a script, not a test): `python tests/benchmarks/bench_quiz.py`.

1. `bptt --help`, whole process (target < 0.5 s).
2. `bptt quiz`: process start until the first question's prompt is printed (target < 1.5 s),
   with a fresh database, stdin a pipe, and again in a pseudo-terminal (as a user sees it).
3. The first expression answer of a session, which imports SymPy (under the 2 s grading limit).
4. Grading in process: a typical expression answer (symbolic equivalence), a number, and the
   worst of the hostile inputs (each must be < 2 s).
Prints a Markdown table for the README. Medians of repeated runs.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

BPTT = [sys.executable, "-m", "derive.cli"]


def median(fn, repeat=7):
    return statistics.median(fn() for _ in range(repeat))


def help_time():
    t = time.perf_counter()
    subprocess.run(BPTT + ["--help"], capture_output=True, check=True)
    return time.perf_counter() - t


def _quiz_args(tmp, topic):
    args = BPTT + ["quiz", "--db", os.path.join(tmp, "p.db"), "--seed", "1", "--n", "3"]
    return args + (["--topic", topic] if topic else [])


def first_question_time(topic=None):
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        proc = subprocess.Popen(_quiz_args(tmp, topic), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        buf = b""
        while b"> " not in buf:
            ch = proc.stdout.read(1)
            if not ch:
                raise RuntimeError(proc.stderr.read().decode())
            buf += ch
        elapsed = time.perf_counter() - t
        proc.kill()
        proc.wait()
        return elapsed


def first_question_time_pty():
    """The same in a pseudo-terminal: the quiz then reads with input() and readline."""
    import pty
    with tempfile.TemporaryDirectory() as tmp:
        master, slave = pty.openpty()
        t = time.perf_counter()
        proc = subprocess.Popen(_quiz_args(tmp, None), stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        buf = b""
        while b"> " not in buf:
            buf += os.read(master, 4096)
        elapsed = time.perf_counter() - t
        proc.kill()
        proc.wait()
        os.close(master)
        return elapsed


def first_grade_time():
    """A fresh process's first expression grade: SymPy is imported then, not at start-up."""
    code = ("import time; from quiz.kinds import grade_answer; t = time.perf_counter(); "
            "grade_answer({'kind': 'expression', 'value': '2*x*(1-x)'}, '2x - 2x^2'); print(time.perf_counter() - t)")
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def grade_time(spec, raw):
    from quiz.kinds import grade_answer
    t = time.perf_counter()
    grade_answer(spec, raw)
    return time.perf_counter() - t


def main():
    import platform
    rows = [("`bptt --help`", median(help_time)),
            ("`bptt quiz`: first question (stdin a pipe)", median(first_question_time)),
            ("`bptt quiz`: first question (pseudo-terminal)", median(first_question_time_pty)),
            ("`bptt quiz --topic forward` (generated numbers)", median(lambda: first_question_time("forward"))),
            ("first expression answer of a session (imports SymPy)", median(first_grade_time))]
    grade_time({"kind": "expression", "value": "x"}, "x")  # import SymPy once, outside the timings
    cases = [("expression σ(x)(1−σ(x)) vs sigmoid(x)*(1-sigmoid(x))",
              {"kind": "expression", "value": "sigmoid(x)*(1-sigmoid(x))"}, "σ(x)(1−σ(x))"),
             ("expression 4n_h^2+4n_h n_x+4n_h vs 4n_h(n_h+n_x+1)",
              {"kind": "expression", "value": "4*n_h*(n_h+n_x+1)"}, "4n_h^2+4n_h n_x+4n_h"),
             ("number 1/4 vs 0.25", {"kind": "number", "value": 0.25}, "1/4"),
             ("hostile (x+y+z+w)^500", {"kind": "expression", "value": "x"}, "(x+y+z+w)^500"),
             ("hostile 9**9**9**9", {"kind": "expression", "value": "x"}, "9**9**9**9")]
    rows += [(name, median(lambda s=spec, r=raw: grade_time(s, r), repeat=5)) for name, spec, raw in cases]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("| what | median time |\n| --- | --- |")
    for name, sec in rows:
        print(f"| {name} | {sec * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
