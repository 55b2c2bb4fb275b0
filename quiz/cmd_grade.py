"""``bptt grade``: judge one answer against an expected one, for scripts and graders."""
from __future__ import annotations

import json

import click

from derive.errors import BpttError

GRADE_KINDS = ("number", "expression", "matrix", "choice", "text", "truefalse")


def infer_kind(expected: str) -> str:
    """number if it reads as one, matrix for ``[...]``, expression for maths, else text."""
    from . import mathinput
    from .model import InvalidAnswer
    s = expected.strip()
    if s.startswith("["):
        return "matrix"
    for kind, read in (("number", mathinput.read_number), ("expression", mathinput.read_expression)):
        try:
            read(s)
            return kind
        except InvalidAnswer:
            pass
    return "text"


def _choice_spec(expected: str) -> dict:
    from .kinds import _keys
    keys = _keys(expected, list("abcdefghijklmnopqrstuvwxyz"))
    options = [{"key": k, "en": k, "zh": k} for k in "abcdefghijklmnopqrstuvwxyz"]
    return {"kind": "choice", "options": options, "correct": sorted(set(keys)), "multiple": len(set(keys)) > 1}


def build_spec(kind: str, expected: str, rtol, atol) -> dict:
    """The answer spec for ``expected`` read as ``kind``; bad expected text is a usage error."""
    from .kinds import KINDS
    from .model import InvalidAnswer
    tol = {k: v for k, v in (("rtol", rtol), ("atol", atol)) if v is not None}
    try:
        if kind == "choice":
            return _choice_spec(expected)
        if kind == "text":
            return {"kind": "text", "accepted": [a for a in expected.split("|") if a.strip()]}
        if kind == "truefalse":
            return {"kind": "truefalse", "value": KINDS["truefalse"].parse(expected, {})[0]}
        value, _ = KINDS[kind].parse(expected, {})
    except InvalidAnswer as err:
        raise BpttError(f"--expected {expected!r} is not a valid {kind}: {err}") from None
    if kind == "matrix":
        value = value.tolist()
    elif kind == "expression":
        value = expected
    return {"kind": kind, "value": value, **tol}


@click.command("grade")
@click.option("--expected", "-e", required=True, help="The right answer (for text: synonyms separated by '|').")
@click.option("--answer", "-a", required=True, help="The answer to judge, as a student typed it.")
@click.option("--kind", type=click.Choice(GRADE_KINDS), default=None,
              help="How to compare; inferred from --expected when omitted.")
@click.option("--rtol", type=click.FloatRange(min=0), default=None, help="Relative tolerance (default 1e-3).")
@click.option("--atol", type=click.FloatRange(min=0), default=None, help="Absolute tolerance (default 0).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", help="Language of the feedback.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def grade_cmd(expected, answer, kind, rtol, atol, lang, as_json):
    """Grade ANSWER against EXPECTED: correct, incorrect or invalid (unreadable).

    Exit status is 0 whenever a verdict is given, wrong and invalid included;
    2 when --expected itself cannot be read.

    \b
    Examples:
      bptt grade -e "sigmoid(x)*(1-sigmoid(x))" -a "σ(x)(1−σ(x))"
      bptt grade -e 0.25 -a 1/4 --json
      bptt grade -e "[[1,0],[0,1]]" -a "[[1,0],[0,0.9999]]"
      bptt grade -e "forget gate|遗忘门" -a 遗忘门 --kind text
    """
    from .kinds import grade_answer
    kind = kind or infer_kind(expected)
    spec = build_spec(kind, expected, rtol, atol)
    verdict = grade_answer(spec, answer, lang)
    if as_json:
        click.echo(json.dumps({**verdict.to_json(), "kind": kind}, ensure_ascii=False, sort_keys=True))
        return
    click.echo(f"{verdict.status} ({kind}): {verdict.feedback}")
    if verdict.read_as:
        click.echo(f"read as: {verdict.read_as}")
