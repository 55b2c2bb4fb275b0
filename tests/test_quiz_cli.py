"""bptt quiz and bptt stats, driven through click's CliRunner and, for SIGKILL, a real process."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from derive.cli import cli

BANK = """
- id: t.tanh
  topic: vanishing
  cells: [rnn]
  difficulty: 1
  text: {en: "Is tanh' at most 1?", zh: "tanh' 不超过 1 吗？"}
  hint: {en: "1 - tanh^2", zh: "1 - tanh^2"}
  solution: {en: "Yes, 1 - tanh^2 <= 1.", zh: "是的，1 - tanh^2 <= 1。"}
  answer: {kind: truefalse, value: true}
  samples: {correct: ["true"], incorrect: ["false"]}
- id: t.gate
  topic: lstm
  cells: [lstm]
  text: {en: "Which gate scales c_{t-1}?", zh: "哪个门缩放 c_{t-1}？"}
  solution: {en: "The forget gate.", zh: "遗忘门。"}
  answer: {kind: text, accepted: ["forget gate", "遗忘门"]}
  samples: {correct: ["forget gate"], incorrect: ["input gate"]}
- id: t.pick
  topic: lstm
  cells: [lstm]
  text: {en: "Pick b.", zh: "选 b。"}
  solution: {en: "b.", zh: "b。"}
  answer: {kind: choice, options: [{key: a, en: A, zh: 甲}, {key: b, en: B, zh: 乙}], correct: [b]}
  samples: {correct: ["b"], incorrect: ["a"]}
"""
RIGHT = {"t.tanh": "true", "t.gate": "forget gate", "t.pick": "b"}
WRONG = {"t.tanh": "false", "t.gate": "input gate", "t.pick": "a"}


@pytest.fixture
def env(tmp_path):
    bank = tmp_path / "bank.yaml"
    bank.write_text(BANK, encoding="utf-8")
    return {"bank": str(bank), "db": str(tmp_path / "p.db"), "tmp": tmp_path}


def order(env, seed=5):
    """Question ids in the order a session with ``seed`` asks them (via --answers on the same seed)."""
    from quiz.bank import load_bank
    from quiz.cmd_quiz import _pick
    return [q.id for q, _ in _pick(load_bank(env["bank"]), 10, seed, False, None, None)]


def quiz(env, lines, *args, **kw):
    text = "".join(line + "\n" for line in lines)
    return CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--db", env["db"], "--seed", "5", *args],
                              input=text, **kw)


def rows(env):
    return sqlite3.connect(env["db"]).execute("SELECT qid, answer, status, hinted FROM attempts ORDER BY id").fetchall()


def test_right_wrong_and_invalid_then_right_without_penalty(env):
    ids = order(env)
    answers = [RIGHT[ids[0]], WRONG[ids[1]], "zzz(" if ids[2] != "t.gate" else "", RIGHT[ids[2]]]
    if ids[2] == "t.gate":
        answers[2] = "   "  # empty text is invalid
    res = quiz(env, answers)
    assert res.exit_code == 0, res.output
    assert res.output.count("✓ correct") == 2 and res.output.count("✗ not correct") == 1
    assert "could not read that" in res.output and "no penalty" in res.output
    assert "Done: 3 answered, 2 correct, 0 skipped, score 67%." in res.output
    assert [r[2] for r in rows(env)] == ["correct", "incorrect", "correct"]


def test_hint_skip_quit_and_summary(env):
    ids = order(env)
    res = quiz(env, ["hint", RIGHT[ids[0]], "skip", "quit"])
    assert res.exit_code == 0
    assert res.output.count("Question ") == 3 and "Skipped." in res.output
    got = rows(env)
    assert [(r[0], r[2], r[3]) for r in got] == [(ids[0], "correct", 1 if ids[0] == "t.tanh" else 1), (ids[1], "skipped", 0)]


def test_eof_ends_cleanly_and_keeps_answers(env):
    ids = order(env)
    res = quiz(env, [RIGHT[ids[0]]])
    assert res.exit_code == 0 and "Done: 1 answered" in res.output
    assert len(rows(env)) == 1


def test_chinese_session(env):
    ids = order(env)
    res = quiz(env, [WRONG[ids[0]], "quit"], "--lang", "zh")
    assert "第 1/3 题" in res.output and "不正确" in res.output and "正确答案" in res.output and "解析" in res.output


def test_review_next_day_brings_back_the_missed_question(env, monkeypatch):
    ids = order(env)
    monkeypatch.setenv("BPTT_TODAY", "2026-11-24")
    quiz(env, [WRONG[ids[0]], RIGHT[ids[1]], RIGHT[ids[2]]])
    monkeypatch.setenv("BPTT_TODAY", "2026-11-24")
    assert "Nothing is due" in quiz(env, [], "--review").output
    monkeypatch.setenv("BPTT_TODAY", "2026-11-25")
    res = quiz(env, ["quit"], "--review")
    assert "Question 1/1" in res.output
    stats = CliRunner().invoke(cli, ["stats", "--db", env["db"], "--json"])
    data = json.loads(stats.output)
    assert (data["answered"], data["correct"], data["due_today"]) == (3, 2, 1)


def test_answers_file_json_matches_interactive_variants(env):
    f = env["tmp"] / "a.json"
    f.write_text(json.dumps({"t.gate": "遗忘门", "t.pick": "a", "t.tanh": "perhaps"}), encoding="utf-8")
    res = CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--answers", str(f), "--json"])
    out = json.loads(res.output)
    assert [(r["id"], r["status"]) for r in out] == [("t.gate", "correct"), ("t.pick", "incorrect"),
                                                     ("t.tanh", "invalid")]
    assert out[1]["expected"] == "b"
    again = env["tmp"] / "b.json"
    again.write_text(json.dumps({"t.pick": {"answer": "b", "variant": out[1]["variant"]}}), encoding="utf-8")
    res = CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--answers", str(again), "--json"])
    assert json.loads(res.output)[0]["status"] == "correct"


def _one_line_error(args, env=None):
    p = subprocess.run([sys.executable, "-m", "derive.cli", *args], capture_output=True, text=True, env=env)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("bptt: error:") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    return p.stderr


def test_bad_input_is_one_line(env):
    assert "topics" in _one_line_error(["quiz", "--bank", env["bank"], "--topic", "nope", "--db", env["db"]])
    broken = env["tmp"] / "broken.yaml"
    broken.write_text("- id: [unclosed\n", encoding="utf-8")
    assert "YAML" in _one_line_error(["quiz", "--bank", str(broken), "--db", env["db"]])
    bad_db = env["tmp"] / "x.db"
    bad_db.write_text("not a database" * 50)
    assert "--db" in _one_line_error(["quiz", "--bank", env["bank"], "--db", str(bad_db)])
    f = env["tmp"] / "a.json"
    f.write_text('{"no.such": "1"}')
    assert "unknown question id" in _one_line_error(["quiz", "--bank", env["bank"], "--answers", str(f)])
    assert "no progress" in _one_line_error(["stats", "--db", str(env["tmp"] / "none.db")])


def _read_until(proc, marker, timeout=20):
    buf, end = b"", time.time() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.time() < end:
        chunk = proc.stdout.read()
        if chunk:
            buf += chunk
            if buf.count(marker[0]) >= marker[1]:
                return buf
        time.sleep(0.02)
    raise AssertionError(f"timed out; output so far: {buf[-500:]!r}")


def test_sigkill_mid_session_keeps_every_graded_answer(env):
    ids = order(env)
    proc = subprocess.Popen([sys.executable, "-m", "derive.cli", "quiz", "--bank", env["bank"], "--db", env["db"],
                             "--seed", "5"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _read_until(proc, (b"> ", 1))
        proc.stdin.write(f"{RIGHT[ids[0]]}\n".encode())
        proc.stdin.flush()
        _read_until(proc, (b"Question 2/3", 1))
        proc.stdin.write(f"{WRONG[ids[1]]}\n".encode())
        proc.stdin.flush()
        _read_until(proc, (b"Question 3/3", 1))
        proc.stdin.write(b"forg")  # the third answer is being typed
        proc.stdin.flush()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    assert [(r[0], r[2]) for r in rows(env)] == [(ids[0], "correct"), (ids[1], "incorrect")]


def test_builtin_bank_smoke(tmp_path):
    res = CliRunner().invoke(cli, ["quiz", "--db", str(tmp_path / "p.db"), "--seed", "3", "--n", "2"],
                             input="skip\nskip\n")
    assert res.exit_code == 0 and "Question 2/2" in res.output and "0 answered" in res.output
