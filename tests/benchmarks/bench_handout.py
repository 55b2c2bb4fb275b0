"""Handout and exam-sheet benchmarks (a script, not a test): `python tests/benchmarks/bench_handout.py`.

1. `bptt handout rnn lstm gru` in each language and format (pdf, html, md), whole process.
2. `bptt sheets` for 100 students (10 questions each): one xelatex run split per student.
3. `bptt export` to Moodle, GIFT and Anki (whole bank).
Prints a Markdown table for the README (one run each; these take seconds to minutes).
"""
import os
import platform
import subprocess
import sys
import tempfile
import time

BPTT = [sys.executable, "-m", "derive.cli"]


def timed(args):
    t = time.perf_counter()
    subprocess.run(BPTT + args, check=True, capture_output=True)
    return time.perf_counter() - t


def main():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in ("en", "zh"):
            for fmt in ("pdf", "tex", "html", "md"):
                out = os.path.join(tmp, f"h_{lang}.{fmt}")
                rows.append((f"handout rnn lstm gru, {lang}, {fmt}",
                             timed(["handout", "rnn", "lstm", "gru", "--lang", lang, "--format", fmt, "-o", out])))
        roster = os.path.join(tmp, "roster.csv")
        with open(roster, "w", encoding="utf-8") as fh:
            fh.write("id,name\n" + "".join(f"s{k:03d},学生{k}\n" for k in range(100)))
        for lang in ("en", "zh"):
            rows.append((f"sheets, 100 students x 10 questions, {lang}, pdf",
                         timed(["sheets", "--roster", roster, "--n", "10", "--lang", lang, "-o",
                                os.path.join(tmp, f"sheets_{lang}")])))
        for fmt, ext in (("moodle", "xml"), ("gift", "gift"), ("anki", "apkg")):
            rows.append((f"export {fmt}, whole bank", timed(["export", "--format", fmt, "-o", os.path.join(tmp, f"q.{ext}")])))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print("| what | time |\n| --- | --- |")
    for name, sec in rows:
        print(f"| {name} | {sec:.1f} s |")


if __name__ == "__main__":
    main()
