"""bptt export: Moodle XML parses with faithful tolerances, GIFT counts round-trip, Anki decks open as SQLite."""
import io
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import pytest
from click.testing import CliRunner

from derive.cli import cli
from quiz.bank import builtin
from quiz.export import UNSUPPORTED, select_variants, tolerance

BY_ID = {q.id: q for q in builtin()}


def export(tmp_path, fmt, *args, name=None):
    out = tmp_path / (name or f"q.{fmt}")
    res = CliRunner().invoke(cli, ["export", "--format", fmt, "-o", str(out), *args])
    assert res.exit_code == 0, res.output
    return out, res


def test_moodle_xml_parses_with_numerical_tolerances_and_multichoice(tmp_path):
    out, res = export(tmp_path, "moodle", "--seed", "5")
    root = ET.parse(out).getroot()
    qs = [q for q in root if q.get("type") != "category"]
    types = {q.get("type") for q in qs}
    assert {"numerical", "multichoice", "truefalse", "shortanswer", "matching"} <= types
    pairs = dict((q.id, v) for q, v in select_variants(builtin(), "moodle", 5)[0])
    for q in qs:
        v = pairs[q.find("name/text").text]
        if q.get("type") == "numerical":
            ans = q.find("answer")
            assert float(ans.find("text").text) == pytest.approx(v.answer["value"])
            assert float(ans.find("tolerance").text) == pytest.approx(tolerance(v.answer))
        if q.get("type") == "multichoice":
            fr = [float(a.get("fraction")) for a in q.findall("answer")]
            assert sum(f for f in fr if f > 0) == pytest.approx(100, abs=0.01)
    text = " ".join(q.find("questiontext/text").text for q in qs)
    assert "\\(" in text and "$" not in text.replace("$course$", "")
    names = {q.find("name/text").text for q in qs}
    assert not names & {q.id for q in builtin() if q.kind in UNSUPPORTED["moodle"]}
    assert "left out" in res.output and "vanishing.sigmoid-derivative" in res.output


def test_moodle_numerical_accepts_exactly_what_bptt_accepts():
    q = BY_ID["vanishing.sigmoid-max"]
    v = q.generate(0)
    tol = tolerance(v.answer)
    assert q.grade(v, str(0.25 + 0.99 * tol)).correct and not q.grade(v, str(0.25 + 1.01 * tol)).correct


def gift_questions(text):
    """Question count by a small GIFT reader: ::title:: blocks outside comments and categories."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("//") and not line.startswith("$CATEGORY"))
    return re.findall(r"(?m)^::((?:\\.|[^:])+)::", body)


def test_gift_round_trips_the_count_and_tolerances(tmp_path):
    out, res = export(tmp_path, "gift", "--lang", "zh", "--seed", "2")
    text = out.read_text(encoding="utf-8")
    titles = gift_questions(text)
    pairs, skipped = select_variants(builtin(), "gift", 2)
    assert len(titles) == len(pairs) == int(re.search(r"(\d+) questions", res.output).group(1))
    assert len(pairs) + len(skipped) == len(builtin())
    q, v = next((q, v) for q, v in pairs if q.kind == "number")
    assert re.search(r"\{#" + re.escape(repr(float(v.answer["value"]))) + r":[0-9.e-]+ ####", text) or \
        re.search(r"\{#" + str(int(v.answer["value"])) + r":", text)
    assert "{TRUE" in text and "{FALSE" in text and "~%50%" in text and " -> 1" in text


def test_anki_deck_opens_as_sqlite_with_every_note_and_stable_guids(tmp_path):
    out, res = export(tmp_path, "anki", "--seed", "1")
    with zipfile.ZipFile(out) as z:
        db = tmp_path / "c.anki2"
        db.write_bytes(z.read("collection.anki2"))
    rows = sqlite3.connect(db).execute("SELECT guid, flds FROM notes").fetchall()
    assert len(rows) == len(builtin())
    from quiz.export_anki import guid
    assert {r[0] for r in rows} == {guid(q.id, "en") for q in builtin()}
    assert all("\x1f" in r[1] for r in rows)
    again, _ = export(tmp_path, "anki", "--seed", "1", name="again.apkg")
    assert again.read_bytes() == out.read_bytes()


@pytest.mark.parametrize("fmt", ["moodle", "gift"])
def test_same_seed_same_bytes_other_seed_other_numbers(tmp_path, fmt):
    a, _ = export(tmp_path, fmt, "--seed", "7", name="a")
    b, _ = export(tmp_path, fmt, "--seed", "7", name="b")
    c, _ = export(tmp_path, fmt, "--seed", "8", name="c")
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_topic_and_n_filters(tmp_path):
    out, res = export(tmp_path, "moodle", "--topic", "gru", "--n", "3")
    qs = [q for q in ET.parse(out).getroot() if q.get("type") != "category"]
    assert 1 <= len(qs) <= 3 and all(BY_ID[q.find("name/text").text].topic == "gru" for q in qs)


def test_bad_input_is_one_line(tmp_path):
    def one_line(*args):
        p = subprocess.run([sys.executable, "-m", "derive.cli", "export", *args], capture_output=True, text=True)
        assert p.returncode == 2 and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr, p.stderr
        return p.stderr
    assert "format" in one_line("--format", "qti", "-o", str(tmp_path / "x"))
    assert "does not exist" in one_line("--format", "gift", "-o", str(tmp_path / "no" / "q.gift"))
    assert "topic" in one_line("--format", "gift", "--topic", "cooking", "-o", str(tmp_path / "q.gift"))
    assert list(tmp_path.iterdir()) == []
