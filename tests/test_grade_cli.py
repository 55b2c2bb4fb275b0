"""bptt grade: verdicts as JSON, kinds inferred, exit 0 for every verdict, 2 for unreadable --expected."""
import json

import pytest
from click.testing import CliRunner

from derive.cli import cli


def run(*args):
    return CliRunner().invoke(cli, ["grade", *args])


def verdict(*args):
    res = run(*args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


@pytest.mark.parametrize("expected, answer, kind, status", [
    ("sigmoid(x)*(1-sigmoid(x))", "σ(x)(1−σ(x))", "expression", "correct"),
    ("sigmoid(x)*(1-sigmoid(x))", "σ(x)(1+σ(x))", "expression", "incorrect"),
    ("x", "x + 1e-6", "expression", "incorrect"),
    ("x", "abs(x)", "expression", "incorrect"),
    ("0.25", "1/4", "number", "correct"),
    ("0.25", "0.26", "number", "incorrect"),
    ("0.25", "one quarter", "number", "invalid"),
    ("[[1,0],[0,1]]", "[[1,0],[0,0.9999]]", "matrix", "correct"),
    ("[[1,0],[0,1]]", "[[1,0,0],[0,1,0]]", "matrix", "incorrect"),
    ("[[1,0],[0,1]]", "[[1,0],[0,1]", "matrix", "invalid"),
    ("x", "__import__('os').system('true')", "expression", "invalid"),
])
def test_inferred_kind_and_status(expected, answer, kind, status):
    got = verdict("-e", expected, "-a", answer)
    assert (got["kind"], got["status"], got["correct"]) == (kind, status, status == "correct")
    assert set(got) >= {"correct", "status", "feedback", "read_as"}


def test_read_as_shows_implicit_multiplication():
    got = verdict("-e", "4*(n_h+1)", "-a", "4(n_h+1)")
    assert got["status"] == "correct" and "*" in got["read_as"]


def test_rtol_override_and_atol():
    assert verdict("-e", "100", "-a", "101", "--rtol", "0.02")["status"] == "correct"
    assert verdict("-e", "100", "-a", "101")["status"] == "incorrect"
    assert verdict("-e", "0", "-a", "1e-9", "--atol", "1e-6")["status"] == "correct"


def test_text_choice_truefalse():
    assert verdict("-e", "forget gate|遗忘门", "-a", "遗忘门", "--kind", "text")["status"] == "correct"
    assert verdict("-e", "forget gate|遗忘门", "-a", "input gate", "--kind", "text")["status"] == "incorrect"
    assert verdict("-e", "b,d", "-a", "d b", "--kind", "choice")["status"] == "correct"
    assert verdict("-e", "b,d", "-a", "b", "--kind", "choice")["score"] == 0.5
    assert verdict("-e", "true", "-a", "对", "--kind", "truefalse")["status"] == "correct"


def test_human_output_and_chinese_feedback():
    res = run("-e", "2*x", "-a", "2x", "--lang", "zh")
    assert res.exit_code == 0 and res.output.startswith("correct") and "正确" in res.output


def test_unreadable_expected_is_a_usage_error():
    from derive.cli import main
    import subprocess, sys
    p = subprocess.run([sys.executable, "-m", "derive.cli", "grade", "-e", "[[1,2]", "-a", "1", "--kind", "matrix"],
                       capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "--expected" in p.stderr
    assert "Traceback" not in p.stderr
