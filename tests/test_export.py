"""bptt export: Moodle XML and GIFT grade as bptt grades (checked against small re-implementations of
Moodle's own rules), GIFT round-trips the question count and texts, Anki decks open as SQLite with
stable GUIDs, same seed gives the same bytes, and what a format cannot check is named and absent."""
import itertools
import re
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile

import pytest
from click.testing import CliRunner

from derive.cli import cli
from quiz.bank import builtin, load_bank
from quiz.export import select_variants, tolerance
from quiz.kinds import grade_answer

BY_ID = {q.id: q for q in builtin()}
OPTS = "[{key: a, en: 'A', zh: '甲'}, {key: b, en: 'B', zh: '乙'}, {key: c, en: 'C', zh: '丙'}, {key: d, en: 'D', zh: '丁'}]"
BANK = rf"""
- id: t.num
  topic: errors
  text: "Odd {{braces}} ~tilde = equals #hash: colon, \\nabla and $\\frac{{1}}{{2}} < a_{{t-1}}$.\n\nSecond paragraph."
  solution: "It is 2.5 & more."
  answer: {{kind: number, value: 2.5, rtol: 0.01}}
- id: t.star
  topic: errors
  text: "Name the product."
  solution: "a*b"
  answer: {{kind: text, accepted: ["a*b", "star product"]}}
- id: t.multi3
  topic: errors
  text: "Pick all right ones."
  solution: "a, b, c"
  answer: {{kind: choice, multiple: true, options: {OPTS}, correct: [a, b, c]}}
- id: t.single
  topic: errors
  text: "Pick one."
  solution: "b"
  answer: {{kind: choice, options: {OPTS}, correct: [b]}}
- id: t.tf
  topic: gru
  text: "True or false?"
  solution: "False."
  answer: {{kind: truefalse, value: false}}
- id: t.order
  topic: gru
  text: "Order them."
  solution: "c a b"
  answer: {{kind: ordering, items: [{{key: a, en: one, zh: 一}}, {{key: b, en: two, zh: 二}}, {{key: c, en: three, zh: 三}}], order: [c, a, b]}}
- id: t.expr
  topic: gru
  text: "Differentiate $x^2$."
  solution: "2x"
  answer: {{kind: expression, value: "2*x"}}
- id: t.mat
  topic: gru
  text: "Give the matrix."
  solution: "see"
  answer: {{kind: matrix, value: [[1, 0.5], [0, -2]], rtol: 0.01, atol: 0.001}}
"""


def export(tmp_path, fmt, *args, name=None):
    out = tmp_path / (name or f"q.{fmt}")
    res = CliRunner().invoke(cli, ["export", "--format", fmt, "-o", str(out), *args])
    assert res.exit_code == 0, res.output
    return out, res


@pytest.fixture
def bank(tmp_path):
    p = tmp_path / "bank.yaml"
    p.write_text(BANK, encoding="utf-8")
    return p


# ---------------------------------------------------------------- Moodle's grading rules, re-implemented

def moodle_questions(path):
    return {q.find("name/text").text: q for q in ET.parse(path).getroot() if q.get("type") != "category"}


def moodle_choice_score(q, picked):
    """Moodle multichoice: single = fraction of the pick; multiple = sum of fractions clamped to [0, 1]."""
    fr = [float(a.get("fraction")) / 100 for a in q.findall("answer")]
    return min(1.0, max(0.0, sum(fr[i] for i in picked)))


CLOZE = re.compile(r"\{1:NUMERICAL:=([^:}]+):([^}]+)\}")


def test_moodle_xml_parses_with_every_type_and_bptt_tolerances(tmp_path):
    out, res = export(tmp_path, "moodle", "--seed", "5")
    qs = moodle_questions(out)
    assert {"numerical", "multichoice", "truefalse", "shortanswer", "matching", "cloze"} <= \
        {q.get("type") for q in qs.values()}
    pairs = {q.id: v for q, v in select_variants(builtin(), "moodle", 5)[0]}
    for qid, q in qs.items():
        v = pairs[qid]
        if q.get("type") == "numerical":
            ans = q.find("answer")
            assert float(ans.find("text").text) == v.answer["value"]
            assert float(ans.find("tolerance").text) == pytest.approx(tolerance(v.answer), rel=1e-12)
        if q.get("type") == "multichoice":
            fr = [float(a.get("fraction")) for a in q.findall("answer")]
            assert sum(f for f in fr if f > 0) == pytest.approx(100, abs=1e-4)
            assert q.find("shuffleanswers").text == "false"  # letters stay those of the solution text
    text = " ".join(q.find("questiontext/text").text for q in qs.values())
    assert "\\(" in text and "$" not in text
    formulas = {q.id for q in builtin() if q.kind == "expression"}
    assert formulas and not set(qs) & formulas
    assert res.stderr.count("\n") == 1 and all(qid in res.stderr for qid in formulas)


def test_moodle_multichoice_scores_every_pick_as_bptt(tmp_path):
    out, _ = export(tmp_path, "moodle", "--seed", "3")
    qs = moodle_questions(out)
    checked = 0
    for q, v in select_variants(builtin(), "moodle", 3)[0]:
        if v.answer["kind"] != "choice":
            continue
        keys = [o["key"] for o in v.answer["options"]]
        sizes = range(1, len(keys) + 1) if v.answer.get("multiple") else [1]
        for k in sizes:
            for picked in itertools.combinations(range(len(keys)), k):
                want = grade_answer(v.answer, " ".join(keys[i] for i in picked)).score
                assert moodle_choice_score(qs[q.id], picked) == pytest.approx(want, abs=1e-6), (q.id, picked)
                checked += 1
    assert checked > 100


def test_moodle_numerical_and_cloze_accept_exactly_what_bptt_accepts(tmp_path, bank):
    out, _ = export(tmp_path, "moodle", "--bank", str(bank))
    qs = moodle_questions(out)
    num = qs["t.num"].find("answer")
    value, tol = float(num.find("text").text), float(num.find("tolerance").text)
    spec = load_bank(bank)[0].generate(0).answer
    for x in (value + 0.999 * tol, value - 0.999 * tol, value + 1.001 * tol):
        assert grade_answer(spec, repr(x)).correct == (abs(x - value) <= tol)
    blanks = [(float(a), float(t)) for a, t in CLOZE.findall(qs["t.mat"].find("questiontext/text").text)]
    assert len(blanks) == 4 and blanks[1] == (0.5, pytest.approx(0.001 + 0.005))
    mat = {"kind": "matrix", "value": [[1, 0.5], [0, -2]], "rtol": 0.01, "atol": 0.001}
    for shifts in itertools.product((0.99, 1.01), repeat=4):  # each entry just inside or just outside
        entries = [a + s * t for (a, t), s in zip(blanks, shifts)]
        moodle = sum(abs(e - a) <= t for e, (a, t) in zip(entries, blanks)) / 4
        typed = f"[[{entries[0]!r}, {entries[1]!r}], [{entries[2]!r}, {entries[3]!r}]]"
        assert grade_answer(mat, typed).score == pytest.approx(moodle)


def test_moodle_custom_bank_kinds_and_escaping(tmp_path, bank):
    out, res = export(tmp_path, "moodle", "--bank", str(bank))
    qs = moodle_questions(out)
    assert set(qs) == {"t.num", "t.star", "t.multi3", "t.single", "t.tf", "t.order", "t.mat"}
    assert "t.expr" in res.stderr and "formula" in res.stderr
    assert [a.find("text").text for a in qs["t.star"].findall("answer")] == [r"a\*b", "star product"]
    assert qs["t.star"].find("usecase").text == "0"
    assert [a.get("fraction") for a in qs["t.multi3"].findall("answer")] == ["33.33333"] * 3 + ["-33.33333"]
    pairs = {s.find("text").text: s.find("answer/text").text for s in qs["t.order"].findall("subquestion")}
    assert pairs == {"three": "1", "one": "2", "two": "3"}
    tf = {a.find("text").text: a.get("fraction") for a in qs["t.tf"].findall("answer")}
    assert tf == {"true": "0", "false": "100"}
    text = qs["t.num"].find("questiontext/text").text
    assert "{braces} ~tilde = equals #hash: colon" in text and "<br><br>Second" in text
    assert r"\(\frac{1}{2} &lt; a_{t-1}\)" in text and "\n" not in text


# ---------------------------------------------------------------- GIFT, read back as Moodle reads it

def gift_unescape_pre(text):
    """Moodle's escapedchar_pre: \\\\ first, then \\: \\# \\= \\{ \\} \\~ \\n to placeholders."""
    text = text.replace("\\\\", "\x00")
    for i, c in enumerate(":#={}~n"):
        text = text.replace("\\" + c, f"\x01{i}\x02")
    return text.replace("\x00", "\\")


def gift_post(text):
    return re.sub("\x01(\\d)\x02", lambda m: ":#={}~\n"[int(m.group(1))], text)


def gift_read(text):
    """Questions of a GIFT file as Moodle's readquestion sees them: (name, qtype, text, answer part)."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.strip().splitlines() if not ln.strip().startswith("//")]
        t = gift_unescape_pre("\n".join(lines).strip())
        if not t or t.startswith("$CATEGORY:"):
            continue
        assert t.startswith("::")
        name, _, t = t[2:].partition("::")
        a, b = t.index("{"), t.index("}")
        answer = t[a + 1:b].strip()
        answer = answer[:answer.rindex("####")].strip() if "####" in answer else answer
        kind = ("numerical" if answer.startswith("#") else "multichoice" if "~" in answer else
                "match" if "=" in answer and "->" in answer else
                "truefalse" if answer in ("T", "TRUE", "F", "FALSE") else "shortanswer")
        out.append((gift_post(name), kind, gift_post(t[:a].strip()), answer))
    return out


def test_gift_round_trips_count_types_and_texts(tmp_path, bank):
    out, res = export(tmp_path, "gift", "--bank", str(bank), "--lang", "zh")
    read = {name: (kind, text, answer) for name, kind, text, answer in gift_read(out.read_text(encoding="utf-8"))}
    assert len(read) == int(re.search(r"(\d+) questions", res.stdout).group(1)) == 6
    assert {k: v[0] for k, v in read.items()} == {"t.num": "numerical", "t.star": "shortanswer",
                                                    "t.multi3": "multichoice", "t.single": "multichoice",
                                                    "t.tf": "truefalse", "t.order": "match"}
    assert "t.expr" in res.stderr and "t.mat" in res.stderr and "matrix" in res.stderr
    assert read["t.num"][1].startswith("[html]Odd {braces} ~tilde = equals #hash: colon, \\nabla and ")
    assert r"\(\frac{1}{2} &lt; a_{t-1}\)" in read["t.num"][1]
    assert read["t.num"][1].count("\n") == 0 and "<br><br>Second" in read["t.num"][1]
    assert read["t.num"][2] == "#2.5:0.025"
    assert gift_post(read["t.star"][2]) == r"=a\*b =star product"
    assert read["t.multi3"][2].count("%33.33333%") == 3 and "%-33.33333%" in read["t.multi3"][2]
    assert read["t.single"][2].count("=") == 1 and read["t.tf"][2] == "FALSE"


def test_gift_builtin_count_and_tolerances(tmp_path):
    out, res = export(tmp_path, "gift", "--seed", "2")
    read = gift_read(out.read_text(encoding="utf-8"))
    pairs, skipped = select_variants(builtin(), "gift", 2)
    assert len(read) == len(pairs) and len(pairs) + len(skipped) == len(builtin())
    answers = {name: answer for name, _, _, answer in read}
    for q, v in pairs:
        if v.answer["kind"] == "number":
            value, tol = answers[q.id][1:].split(":")
            assert float(value) == v.answer["value"] and float(tol) == pytest.approx(tolerance(v.answer), rel=1e-12)


# ---------------------------------------------------------------- Anki

def anki_notes(path, tmp_path):
    with zipfile.ZipFile(path) as z:
        db = tmp_path / f"{path.stem}.anki2"
        db.write_bytes(z.read("collection.anki2"))
    con = sqlite3.connect(db)
    try:
        return {guid: flds.split("\x1f") for guid, flds in con.execute("SELECT guid, flds FROM notes")}
    finally:
        con.close()


def test_anki_deck_opens_as_sqlite_with_every_note_and_stable_guids(tmp_path):
    from quiz.export_anki import guid
    out, _ = export(tmp_path, "anki", "--seed", "1")
    notes = anki_notes(out, tmp_path)
    assert set(notes) == {guid(q.id, "en") for q in builtin()}  # every kind, formulas and matrices too
    assert {f[3] for f in notes.values()} == {q.id for q in builtin()}
    assert all(len(f) == 4 and f[1] for f in notes.values())
    again, _ = export(tmp_path, "anki", "--seed", "1", name="again.apkg")
    assert again.read_bytes() == out.read_bytes()
    other, _ = export(tmp_path, "anki", "--seed", "2", name="other.apkg")
    renotes = anki_notes(other, tmp_path)
    assert set(renotes) == set(notes) and renotes != notes  # same notes (updated on import), new numbers


def test_anki_fields_are_html_escaped(tmp_path, bank):
    out, _ = export(tmp_path, "anki", "--bank", str(bank))
    fields = {f[3]: f for f in anki_notes(out, tmp_path).values()}
    assert "&lt; a_{t-1}" in fields["t.num"][0] and "It is 2.5 &amp; more." == fields["t.num"][2]
    assert "(b) B" in fields["t.single"][0] and fields["t.expr"][1] == "2*x"


# ---------------------------------------------------------------- reproducibility, filters, bad input

@pytest.mark.parametrize("fmt", ["moodle", "gift", "anki"])
def test_same_seed_same_bytes_other_seed_other_numbers(tmp_path, fmt):
    a, _ = export(tmp_path, fmt, "--seed", "7", name="a")
    b, _ = export(tmp_path, fmt, "--seed", "7", name="b")
    c, _ = export(tmp_path, fmt, "--seed", "8", name="c")
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()


def test_a_separate_process_gives_the_same_bytes(tmp_path):
    a, _ = export(tmp_path, "moodle", "--seed", "4", "--lang", "zh")
    b = tmp_path / "b.xml"
    subprocess.run([sys.executable, "-m", "derive.cli", "export", "--format", "moodle", "--seed", "4", "--lang", "zh",
                    "-o", str(b)], check=True, capture_output=True)
    assert a.read_bytes() == b.read_bytes()


def test_topic_and_n_filters(tmp_path):
    out, _ = export(tmp_path, "moodle", "--topic", "gru", "--n", "3")
    qs = moodle_questions(out)
    assert len(qs) == 3 and all(BY_ID[qid].topic == "gru" for qid in qs)
    out5, _ = export(tmp_path, "gift", "--n", "5", name="five.gift")
    assert len(gift_read(out5.read_text(encoding="utf-8"))) == 5


def one_line(tmp_path, *args):
    p = subprocess.run([sys.executable, "-m", "derive.cli", "export", *map(str, args)], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and p.stderr.startswith("bptt: error:"), p.stderr
    return p.stderr


def test_bad_input_is_one_line_and_writes_nothing(tmp_path):
    assert "format" in one_line(tmp_path, "--format", "qti", "-o", tmp_path / "x")
    assert "does not exist" in one_line(tmp_path, "--format", "gift", "-o", tmp_path / "no" / "q.gift")
    assert "topic" in one_line(tmp_path, "--format", "gift", "--topic", "cooking", "-o", tmp_path / "q.gift")
    (tmp_path / "dir").mkdir()
    assert "is a folder" in one_line(tmp_path, "--format", "anki", "-o", tmp_path / "dir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"] and not any((tmp_path / "dir").iterdir())
