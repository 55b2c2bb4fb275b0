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
    hint = {"t.tanh": "Hint: 1 - tanh^2", "t.gate": "No hint for this one.", "t.pick": "No hint for this one."}
    assert hint[ids[0]] in res.output
    assert res.output.count("Question ") == 3 and "Skipped." in res.output
    assert "Done: 1 answered, 1 correct, 1 skipped, score 100%." in res.output
    assert [(r[0], r[2], r[3]) for r in rows(env)] == [(ids[0], "correct", 1), (ids[1], "skipped", 0)]
    cards = dict(sqlite3.connect(env["db"]).execute("SELECT qid, interval FROM cards"))
    assert cards == {ids[0]: 6, ids[1]: 1}  # correct after a hint (quality 3) vs skipped (0): due tomorrow


def test_eof_ends_cleanly_and_keeps_answers(env):
    ids = order(env)
    res = quiz(env, [RIGHT[ids[0]]])
    assert res.exit_code == 0 and "Done: 1 answered" in res.output
    assert len(rows(env)) == 1


def test_chinese_session(env):
    ids = order(env)
    res = quiz(env, ["   ", WRONG[ids[0]], "quit"], "--lang", "zh")
    out = res.output
    assert "第 1/3 题" in out and "无法识别" in out and "不扣分" in out
    assert "✗ 不正确" in out and "正确答案" in out and "解析" in out and "结束：作答 1 题，答对 0 题" in out
    assert "Question" not in out and "Solution" not in out


def test_default_seed_is_the_day_and_later_sessions_move_on(env, monkeypatch):
    monkeypatch.setenv("BPTT_TODAY", "2026-11-24")
    run = lambda: CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--db", env["db"], "--n", "1"],
                                     input="skip\n")
    first, second, third = run(), run(), run()
    assert "seed 20261124" in first.output
    asked = [r[0] for r in rows(env)]
    assert sorted(asked) == ["t.gate", "t.pick", "t.tanh"]  # never the same question twice while some are new
    assert first.output != second.output != third.output


def test_review_next_day_brings_back_the_missed_question(env, monkeypatch):
    ids = order(env)
    monkeypatch.setenv("BPTT_TODAY", "2026-11-24")
    quiz(env, [WRONG[ids[0]], RIGHT[ids[1]], RIGHT[ids[2]]])
    assert "Nothing is due" in quiz(env, [], "--review").output
    monkeypatch.setenv("BPTT_TODAY", "2026-11-25")
    res = quiz(env, [RIGHT[ids[0]]], "--review")
    assert "review, 1 question, seed" in res.output and "Question 1/1" in res.output
    assert "Due for review by tomorrow: 1" in res.output  # right after a lapse: SM-2 asks again in 1 day
    variants = sqlite3.connect(env["db"]).execute("SELECT variant FROM attempts WHERE qid=?", (ids[0],)).fetchall()
    seeds = [json.loads(v[0])["seed"] for v in variants]
    assert len(seeds) == 2 and seeds[0] != seeds[1]  # a fresh variant, not the one missed
    stats = CliRunner().invoke(cli, ["stats", "--db", env["db"], "--json"])
    data = json.loads(stats.output)
    assert (data["answered"], data["correct"], data["due_today"], data["streak"]) == (4, 3, 0, 2)


def test_stats_text_counts_skips_apart(env, monkeypatch):
    monkeypatch.setenv("BPTT_TODAY", "2026-11-24")
    ids = order(env)
    quiz(env, [RIGHT[ids[0]], "skip", WRONG[ids[2]]])
    topic = {"t.tanh": "vanishing", "t.gate": "lstm", "t.pick": "lstm"}
    res = CliRunner().invoke(cli, ["stats", "--db", env["db"]])
    assert res.exit_code == 0
    assert "2 answered, 50% correct, 1 skipped" in res.output
    assert "due today: 0, due tomorrow: 2" in res.output and "streak: 1 day" in res.output
    by_topic = {}
    for i in (0, 2):
        a, c = by_topic.get(topic[ids[i]], (0, 0))
        by_topic[topic[ids[i]]] = (a + 1, c + (i == 0))
    for t, (a, c) in by_topic.items():
        assert f"  {t}: {c}/{a}\n" in res.output
    zh = CliRunner().invoke(cli, ["stats", "--db", env["db"], "--lang", "zh"]).output
    assert "作答 2 题，正确率 50%，跳过 1 题" in zh and "已连续 1 天" in zh


def test_answers_file_json_matches_interactive_variants(env):
    f = env["tmp"] / "a.json"
    f.write_text(json.dumps({"t.gate": "遗忘门", "t.pick": "a", "t.tanh": "perhaps"}), encoding="utf-8")
    res = CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--answers", str(f), "--json"])
    out = json.loads(res.output)
    assert [(r["id"], r["status"], r["correct"]) for r in out] == [
        ("t.gate", "correct", True), ("t.pick", "incorrect", False), ("t.tanh", "invalid", False)]
    assert {"id", "status", "correct", "score", "feedback", "read_as", "expected", "variant"} <= set(out[0])
    assert out[1]["expected"] == "b" and out[0]["read_as"] == "遗忘门"
    assert not os.path.exists(env["db"])  # grading a file records nothing
    again = env["tmp"] / "b.json"
    again.write_text(json.dumps({"t.pick": {"answer": "b", "variant": out[1]["variant"]}}), encoding="utf-8")
    res = CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--answers", str(again), "--json"])
    assert json.loads(res.output)[0]["status"] == "correct"


def test_list_shows_the_variants_answers_grades(env):
    listed = CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--list", "--json", "--seed", "9", "--n", "2"])
    qs = json.loads(listed.output)
    assert len(qs) == 2 and all(q["text"] and q["kind"] for q in qs)
    f = env["tmp"] / "a.yaml"
    f.write_text("".join(f"{q['id']}: x\n" for q in qs), encoding="utf-8")
    graded = CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--answers", str(f), "--json", "--seed", "9"])
    assert [r["variant"] for r in json.loads(graded.output)] == [q["variant"] for q in qs]
    text = CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--list", "--seed", "9", "--lang", "zh"]).output
    assert "1. " in text and "3. " in text and ("选 b。" in text and "   a) 甲" in text)


def test_answers_yaml_values_are_read_as_typed(env):
    f = env["tmp"] / "a.yaml"
    f.write_text("t.tanh: true\nt.pick: [b]\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["quiz", "--bank", env["bank"], "--answers", str(f), "--json"])
    assert [r["status"] for r in json.loads(res.output)] == ["correct", "correct"]


def _one_line_error(args, env=None):
    p = subprocess.run([sys.executable, "-m", "derive.cli", *args], capture_output=True, text=True, env=env)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("bptt: error:") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    return p.stderr


def test_bad_input_is_one_line(env):
    assert "topics" in _one_line_error(["quiz", "--bank", env["bank"], "--topic", "nope", "--db", env["db"]])
    assert "rnn, lstm or gru" in _one_line_error(["quiz", "--bank", env["bank"], "--cell", "mgu", "--db", env["db"]])
    broken = env["tmp"] / "broken.yaml"
    broken.write_text("- id: [unclosed\n", encoding="utf-8")
    assert "YAML" in _one_line_error(["quiz", "--bank", str(broken), "--db", env["db"]])
    assert "does not exist" in _one_line_error(["quiz", "--bank", str(env["tmp"] / "none.yaml")])
    bad_db = env["tmp"] / "x.db"
    bad_db.write_text("not a database" * 50)
    msg = _one_line_error(["quiz", "--bank", env["bank"], "--db", str(bad_db)])
    assert str(bad_db) in msg and "move it aside" in msg and "--db" in msg
    assert bad_db.read_text() == "not a database" * 50
    under_file = env["tmp"] / "bank.yaml" / "p.db"
    assert "cannot open progress database" in _one_line_error(["quiz", "--bank", env["bank"], "--db", str(under_file)])
    f = env["tmp"] / "a.json"
    f.write_text('{"no.such": "1"}')
    assert "unknown question id 'no.such'" in _one_line_error(["quiz", "--bank", env["bank"], "--answers", str(f)])
    f.write_text('{"t.pick": {"answer": "b", "variant": {"qid": "t.gate"}}}')
    assert "not one printed by bptt" in _one_line_error(["quiz", "--bank", env["bank"], "--answers", str(f)])
    assert "--json goes with" in _one_line_error(["quiz", "--bank", env["bank"], "--json", "--db", env["db"]])
    assert "no progress" in _one_line_error(["stats", "--db", str(env["tmp"] / "none.db")])
    day = dict(os.environ, BPTT_TODAY="tomorrow")
    assert "YYYY-MM-DD" in _one_line_error(["quiz", "--bank", env["bank"], "--db", env["db"]], env=day)


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


def _controlling_tty():
    import fcntl
    import termios
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # after setsid: the pty is this session's terminal, so ^C is SIGINT


def test_ctrl_c_in_a_terminal_ends_with_the_summary(env):
    """In a pseudo-terminal the quiz reads with input(); Ctrl-C (the tty's SIGINT) still ends cleanly."""
    import pty
    import select
    ids = order(env)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "derive.cli", "quiz", "--bank", env["bank"], "--db", env["db"],
                             "--seed", "5"], stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                            preexec_fn=_controlling_tty)
    os.close(slave)
    buf, end = b"", time.time() + 20

    def until(marker, after=b""):
        nonlocal buf
        seen = lambda: marker in buf[buf.find(after):] if after in buf else False
        while not seen() and time.time() < end:
            if select.select([master], [], [], 0.1)[0]:
                buf += os.read(master, 4096)
        assert seen(), buf[-500:]
    try:
        until(b"> ")
        os.write(master, f"{RIGHT[ids[0]]}\r".encode())
        until(b"> ", after=b"Question 2/3")
        time.sleep(0.5)  # as a person would: readline shows "> " just before it waits, and misses a ^C in between
        os.write(master, b"\x03")  # Ctrl-C typed at the terminal
        until(b"Done: 1 answered, 1 correct")
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        os.close(master)
    assert b"Traceback" not in buf
    assert [(r[0], r[2]) for r in rows(env)] == [(ids[0], "correct")]
