"""bptt sheets and bptt mark: per-student variants, key, marking with partial credit, bad rosters."""
import csv
import json
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
    pick = lambda rows: [r["variant"] for r in rows if r["student_id"] == "s02"]
    assert pick(key(tmp_path)) == pick(key(tmp_path, "alone"))


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
    first = (out / "s01.pdf").read_bytes()
    assert sheets(tmp_path, "--n", "5", "--lang", lang).exit_code == 0  # same folder: earlier output is replaced
    assert (out / "s01.pdf").read_bytes() == first


def write_responses(tmp_path, rows):
    p = tmp_path / "responses.csv"
    with open(p, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "question", "answer"])
        w.writerows(rows)
    return p


def test_mark_scores_right_wrong_partial_invalid_and_blank(tmp_path):
    from quiz.kinds import kind_of
    sheets(tmp_path, "--n", "8", "--format", "tex", "--seed", "9")
    rows = key(tmp_path)
    s01 = [r for r in rows if r["student_id"] == "s01"]
    answers = [("s01", s01[0]["number"], s01[0]["expected"]), ("s01", s01[1]["number"], "zzz(((")]
    multi = next((r for r in rows if json.loads(r["answer_spec"]).get("multiple")), None)
    if multi:
        spec = json.loads(multi["answer_spec"])
        answers.append((multi["student_id"], multi["number"], spec["correct"][0]))
    res = CliRunner().invoke(cli, ["mark", "--key", str(tmp_path / "out" / "key.csv"), "--responses",
                                   str(write_responses(tmp_path, answers)), "-o", str(tmp_path / "grades.csv")])
    assert res.exit_code == 0, res.output
    with open(tmp_path / "grades.csv", encoding="utf-8") as fh:
        grades = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert grades["s01"]["q" + s01[0]["number"]] == "1" and grades["s01"]["q" + s01[1]["number"]] == "0"
    assert grades["s03"]["max"] == "8"
    if multi:
        partial = float(grades[multi["student_id"]]["q" + multi["number"]])
        assert 0 < partial < 1
    with open(tmp_path / "grades_summary.csv", encoding="utf-8") as fh:
        summary = {r["qid"]: r for r in csv.DictReader(fh)}
    assert summary[s01[1]["qid"]]["invalid_or_blank"] >= "1"


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


def test_bad_responses_and_foreign_folder(tmp_path):
    sheets(tmp_path, "--n", "3", "--format", "tex")
    k = str(tmp_path / "out" / "key.csv")
    for rows, message in ([("s99", "1", "a")], "unknown student 's99'"), ([("s01", "7", "a")], "no question '7'"):
        p = subprocess.run([sys.executable, "-m", "derive.cli", "mark", "--key", k, "--responses",
                            str(write_responses(tmp_path, rows)), "-o", str(tmp_path / "g.csv")],
                           capture_output=True, text=True)
        assert p.returncode == 2 and message in p.stderr and not (tmp_path / "g.csv").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "thesis.txt").write_text("keep me")
    res = sheets(tmp_path, "--format", "tex", out="mine")
    assert res.exit_code != 0 and (other / "thesis.txt").read_text() == "keep me"
