"""Exam-sheet, marking and export benchmarks (a script, not a test): `python tests/benchmarks/bench_sheets.py [REPEATS]`.

1. `bptt sheets` for 100 students x 10 questions: LaTeX only, and PDFs (one xelatex run for all sheets,
   split per student by page range with poppler, the key compiled alongside), in both languages.
2. `bptt mark` of 1000 responses (100 students x 10, every other one right) with the quiz's graders.
3. `bptt export` of the whole bank to Moodle XML, GIFT and Anki.
Whole processes (start-up included); prints the median of REPEATS runs (default 3) as a Markdown table.
"""
import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

BPTT = [sys.executable, "-m", "derive.cli"]


def timed(args, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(BPTT + args, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def write_roster(tmp, n=100):
    path = os.path.join(tmp, "roster.csv")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("id,name\n" + "".join(f"s{k:03d},学生{k}\n" for k in range(n)))
    return path


def write_responses(tmp, key_path):
    """Every other answer is the expected one, the rest a wrong guess."""
    path = os.path.join(tmp, "responses.csv")
    with open(key_path, encoding="utf-8") as fh, open(path, "w", encoding="utf-8", newline="") as out:
        w = csv.writer(out)
        w.writerow(["student_id", "question", "answer"])
        for k, row in enumerate(csv.DictReader(fh)):
            w.writerow([row["student_id"], row["number"], row["expected"] if k % 2 else "0.5"])
    return path


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        roster = write_roster(tmp)
        for lang in ("en", "zh"):
            for fmt in ("tex", "pdf"):
                out = os.path.join(tmp, f"sheets_{lang}_{fmt}")
                rows.append((f"sheets, 100 students x 10 questions, {lang}, {fmt}",
                             timed(["sheets", "--roster", roster, "--n", "10", "--lang", lang, "--format", fmt,
                                    "-o", out], repeats)))
        responses = write_responses(tmp, os.path.join(tmp, "sheets_en_tex", "key.csv"))
        rows.append(("mark, 100 students x 10 responses", timed(
            ["mark", "--key", os.path.join(tmp, "sheets_en_tex", "key.csv"), "--responses", responses,
             "-o", os.path.join(tmp, "grades.csv")], repeats)))
        for fmt, ext in (("moodle", "xml"), ("gift", "gift"), ("anki", "apkg")):
            rows.append((f"export {fmt}, whole bank",
                         timed(["export", "--format", fmt, "-o", os.path.join(tmp, f"q.{ext}")], repeats)))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"median of {repeats}")
    print("| what | time |\n| --- | --- |")
    for name, sec in rows:
        print(f"| {name} | {sec:.1f} s |")


if __name__ == "__main__":
    main()
