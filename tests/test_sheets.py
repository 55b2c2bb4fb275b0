"""bptt sheets and bptt mark: per-student variants, key, marking with partial credit, bad rosters."""
import csv
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from derive.cli import cli

HAS_TEX = bool(shutil.which("latexmk") and shutil.which("pdfseparate") and shutil.which("pdftotext"))
ROSTER = "id,name\ns01,张三\ns02,Li Si\ns03,王五\n"


def sheets(tmp_path, *args, roster=ROSTER, out="out"):
    r = tmp_path / "roster.csv"
    r.write_text(roster, encoding="utf-8")
    return CliRunner().invoke(cli, ["sheets", "--roster", str(r), "-o", str(tmp_path / out), *args])


def key(tmp_path, out="out"):
    with open(tmp_path / out / "key.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_tex_sheets_differ_by_student_and_reproduce(tmp_path):
    assert sheets(tmp_path, "--n", "6", "--format", "tex", "--seed", "4").exit_code == 0
    assert sheets(tmp_path, "--n", "6", "--format", "tex", "--seed", "4", out="again").exit_code == 0
    for name in ("sheets.tex", "key.tex", "key.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    rows = key(tmp_path)
    assert len(rows) == 18 and {r["student_id"] for r in rows} == {"s01", "s02", "s03"}
    per = {sid: [r["variant"] for r in rows if r["student_id"] == sid] for sid in ("s01", "s02")}
    assert per["s01"] != per["s02"]
    tex = (tmp_path / "out" / "sheets.tex").read_text(encoding="utf-8")
    assert tex.count("BPTTSHEET") == 3 and "张三 (s01)" in tex


def test_a_sheet_depends_only_on_seed_and_id(tmp_path):
    sheets(tmp_path, "--n", "4", "--format", "tex")
    sheets(tmp_path, "--n", "4", "--format", "tex", roster="id,name\ns02,Li Si\n", out="alone")
    sheets(tmp_path, "--n", "4", "--format", "tex", "--seed", "1", roster="id,name\ns02,Li Si\n", out="seed1")
    pick = lambda rows: [r["variant"] for r in rows if r["student_id"] == "s02"]
    assert pick(key(tmp_path)) == pick(key(tmp_path, "alone")) != pick(key(tmp_path, "seed1"))


@pytest.mark.skipif(not HAS_TEX, reason="needs latexmk, xelatex and poppler-utils")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pdf_per_student_and_key(tmp_path, lang):
    res = sheets(tmp_path, "--n", "5", "--lang", lang)
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["key.csv", "key.pdf", "s01.pdf", "s02.pdf", "s03.pdf"]
    text = subprocess.run(["pdftotext", str(out / "s02.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Li Si (s02)" in text and "张三" not in text and "5." in text
    for pdf in ("s01.pdf", "key.pdf"):  # Chinese names print on English sheets too
        assert "张三" in subprocess.run(["pdftotext", str(out / pdf), "-"], capture_output=True, text=True).stdout
    first = {name: (out / name).read_bytes() for name in ("s01.pdf", "key.pdf")}
    assert sheets(tmp_path, "--n", "5", "--lang", lang).exit_code == 0  # same folder: earlier output is replaced
    assert first == {name: (out / name).read_bytes() for name in first}
    assert sheets(tmp_path, "--n", "5", "--lang", lang, roster="id,name\ns01,张三\n").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["key.csv", "key.pdf", "s01.pdf"]  # no stale sheets


@pytest.mark.skipif(not HAS_TEX, reason="needs latexmk, xelatex and poppler-utils")
def test_latex_failure_shows_the_tex_error_and_keeps_only_the_source(tmp_path):
    assert sheets(tmp_path, "--n", "2", "--format", "tex").exit_code == 0  # an earlier, complete set
    bank = tmp_path / "bad.yaml"
    bank.write_text("- {id: b.x, topic: errors, text: 'Compute $\\nosuchmacro x$.', solution: x, "
                    "answer: {kind: number, value: 1}}\n", encoding="utf-8")
    p = run_bptt(tmp_path, "sheets", "--roster", tmp_path / "roster.csv", "--bank", bank, "-o", tmp_path / "out")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
    assert "Undefined control sequence" in p.stderr and "sheets.tex" in p.stderr
    out = tmp_path / "out"
    assert sorted(x.name for x in out.iterdir()) == ["sheets.tex"]  # no key.csv: nothing looks complete
    assert "\\nosuchmacro" in (out / "sheets.tex").read_text(encoding="utf-8")
    assert sheets(tmp_path, "--n", "2", "--format", "tex").exit_code == 0  # a kept source does not block a rerun


def write_responses(tmp_path, rows):
    p = tmp_path / "responses.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "question", "answer"])
        w.writerows(rows)
    return p


BANK = r"""
- id: m.num
  topic: errors
  text: "Give $x$."
  solution: "2.5"
  answer: {kind: number, value: 2.5, rtol: 0.01}
- id: m.multi
  topic: errors
  text: "Pick all."
  solution: "a, b, c"
  answer: {kind: choice, multiple: true, correct: [a, b, c], options: [{key: a, en: A, zh: 甲}, {key: b, en: B, zh: 乙},
           {key: c, en: C, zh: 丙}, {key: d, en: D, zh: 丁}]}
- id: m.order
  topic: errors
  text: "Order."
  solution: "c a b"
  answer: {kind: ordering, order: [c, a, b], items: [{key: a, en: one, zh: 一}, {key: b, en: two, zh: 二},
           {key: c, en: three, zh: 三}]}
- id: m.mat
  topic: errors
  text: "Matrix."
  solution: "see"
  answer: {kind: matrix, value: [[1, 0.5], [0, -2]], rtol: 0.01, atol: 0.001}
- id: m.word
  topic: errors
  text: "Name it."
  solution: "clipping"
  answer: {kind: text, accepted: ["gradient clipping", "梯度裁剪"]}
"""
ANSWERS = {  # qid -> [(answer, expected score, status)]
    "m.num": [("2.51", 1, "correct"), ("2.6", 0, "incorrect"), ("two", 0, "invalid")],
    "m.multi": [("a b", 2 / 3, "incorrect"), ("a, b, d", 1 / 3, "incorrect"), ("abc", 1, "correct")],
    "m.order": [("a c b", 2 / 3, "incorrect"), ("c a b", 1, "correct"), ("b a c", 0, "incorrect")],
    "m.mat": [("[[1, 0.5], [0, 2]]", 0.75, "incorrect"), ("[[1, .5], [0, -2]]", 1, "correct"), ("[[1, 2]]", 0, "incorrect")],
    "m.word": [("Gradient-Clipping.", 1, "correct"), ("梯度裁剪", 1, "correct"), ("", 0, "blank")],
}


def test_mark_scores_right_wrong_partial_invalid_and_blank(tmp_path):
    bank = tmp_path / "bank.yaml"
    bank.write_text(BANK, encoding="utf-8")
    assert sheets(tmp_path, "--n", "5", "--format", "tex", "--bank", str(bank)).exit_code == 0
    number = {(r["student_id"], r["qid"]): r["number"] for r in key(tmp_path)}
    sids = ("s01", "s02", "s03")
    responses = [(sid, "q" + number[sid, qid], tries[k][0]) for qid, tries in ANSWERS.items()
                 for k, sid in enumerate(sids)]
    res = CliRunner().invoke(cli, ["mark", "--key", str(tmp_path / "out" / "key.csv"), "--responses",
                                   str(write_responses(tmp_path, responses)), "-o", str(tmp_path / "grades.csv")])
    assert res.exit_code == 0, res.output
    with open(tmp_path / "grades.csv", encoding="utf-8") as fh:
        grades = {r["student_id"]: r for r in csv.DictReader(fh)}
    for qid, tries in ANSWERS.items():
        for sid, (_, score, _) in zip(sids, tries):
            assert float(grades[sid]["q" + number[sid, qid]]) == pytest.approx(score, abs=1e-5), (qid, sid)
    for k, sid in enumerate(sids):
        assert float(grades[sid]["total"]) == pytest.approx(sum(t[k][1] for t in ANSWERS.values()), abs=1e-4)
        assert grades[sid]["max"] == "5"
    with open(tmp_path / "grades_summary.csv", encoding="utf-8") as fh:
        summary = {r["qid"]: r for r in csv.DictReader(fh)}
    for qid, tries in ANSWERS.items():
        assert float(summary[qid]["mean_score"]) == pytest.approx(sum(t[1] for t in tries) / 3, abs=1e-4)
        assert int(summary[qid]["correct"]) == sum(t[2] == "correct" for t in tries)
        assert int(summary[qid]["invalid_or_blank"]) == sum(t[2] in ("invalid", "blank") for t in tries)
    assert summary["m.num"]["most_common_wrong"] == "2.6" and "m.num: mean 0.33" in res.output


@pytest.mark.parametrize("roster, message", [
    ("id,name\ns01,A\ns01,B\n", "already used on line 2"),
    ("id,name\n,A\n", "line 2: empty student id"),
    ("name\nA\n", "columns id"),
    ("id,name\na/b,A\n", "may only use letters"),
    ("id,name\n", "no students"),
])
def test_bad_rosters_are_one_line_and_write_nothing(tmp_path, roster, message):
    r = tmp_path / "roster.csv"
    r.write_text(roster, encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "derive.cli", "sheets", "--roster", str(r), "--format", "tex",
                        "-o", str(tmp_path / "out")], capture_output=True, text=True)
    assert p.returncode == 2 and message in p.stderr and p.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def run_bptt(cwd, *args):
    return subprocess.run([sys.executable, "-m", "derive.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_bad_responses_keys_and_foreign_folder(tmp_path):
    sheets(tmp_path, "--n", "3", "--format", "tex")
    k = tmp_path / "out" / "key.csv"
    bad_key = tmp_path / "bad_key.csv"
    bad_key.write_text(k.read_text(encoding="utf-8").replace('{""kind""', '{""kinda""', 1), encoding="utf-8")
    for rows, message, key_path in (
            ([("s99", "1", "a")], "unknown student 's99'", k),
            ([("s01", "7", "a")], "no question '7'", k),
            ([("s01", "1", "a"), ("s02", "2", "b"), ("s01", "q1", "b")], "line 4: a second answer", k),
            ([("s01", "1", "a")], ": not a row written by bptt sheets", bad_key)):
        p = run_bptt(tmp_path, "mark", "--key", key_path, "--responses", write_responses(tmp_path, rows),
                     "-o", tmp_path / "g.csv")
        assert p.returncode == 2 and message in p.stderr and p.stderr.count("\n") == 1, p.stderr
        assert not (tmp_path / "g.csv").exists() and not (tmp_path / "g_summary.csv").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.txt").write_text("keep me")
    res = sheets(tmp_path, "--format", "tex", out="mine")
    assert res.exit_code != 0 and (other / "thesis.txt").read_text() == "keep me"


def test_unwritable_outputs_are_one_line(tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "afile").write_text("x")
    p = run_bptt(tmp_path, "sheets", "--roster", "roster.csv", "--format", "tex", "-o", "afile/out")
    assert p.returncode == 2 and "cannot prepare afile/out" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    assert sheets(tmp_path, "--n", "2", "--format", "tex").exit_code == 0
    responses = write_responses(tmp_path, [("s01", "1", "a")])
    p = run_bptt(tmp_path, "mark", "--key", "out/key.csv", "--responses", responses, "-o", "nowhere/g.csv")
    assert p.returncode == 2 and "does not exist" in p.stderr and p.stderr.count("\n") == 1, p.stderr
