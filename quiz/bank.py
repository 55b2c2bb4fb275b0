"""Question banks: the built-in YAML files under ``quiz/bank/`` and user banks.

A bank is a YAML list of entries (see README, "Writing your own questions")::

    - id: vanishing.sigmoid-max
      topic: vanishing
      cells: [rnn]
      difficulty: 1
      text: {en: "...", zh: "..."}          # Jinja; inline maths in $...$
      hint: {en: "...", zh: "..."}
      solution: {en: "...", zh: "..."}
      params: {a: {uniform: [0.1, 0.9], round: 2}}   # optional named random draws
      answer: {kind: number, expr: "a*(1-a)", rtol: 1e-3}   # or value: ..., or
      generator: {name: rnn_step, cell: gru}          # a registered Python generator
      samples: {correct: ["{{ answer }}"], incorrect: [...], invalid: [...]}

Nothing in a bank is evaluated as Python: ``expr`` goes through the answer
grammar (:mod:`quiz.mathinput`), templates run in Jinja's sandbox.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from derive.errors import BpttError

from .model import LANGS, Question

TOPICS = ("exploding", "vanishing", "remedies", "lstm", "gru", "compare", "bptt",
          "architectures", "params", "forward", "errors")
REQUIRED = ("id", "topic", "text", "solution")
MAX_BANK_BYTES = 2_000_000


class BankError(BpttError):
    """A bank file that cannot be used; the message names the entry and the fix."""


def _bilingual(entry, key, where, required=True):
    val = entry.get(key)
    if val is None and not required:
        return {"en": "", "zh": ""}
    if isinstance(val, str):
        return {"en": val, "zh": val}
    if not isinstance(val, dict) or not all(isinstance(val.get(lang), str) for lang in LANGS):
        raise BankError(f"{where}: '{key}' needs an 'en' and a 'zh' text")
    return {lang: val[lang] for lang in LANGS}


def _draw(rng, name, spec, where):
    """One named random parameter: uniform / randint / normal / choice, with optional round."""
    if not isinstance(spec, dict):
        return spec  # a fixed value
    if "uniform" in spec:
        lo, hi = spec["uniform"]
        val = float(rng.uniform(float(lo), float(hi)))
    elif "randint" in spec:
        lo, hi = spec["randint"]
        return int(rng.integers(int(lo), int(hi) + 1))
    elif "normal" in spec:
        mu, sd = spec["normal"]
        val = float(rng.normal(float(mu), float(sd)))
    elif "choice" in spec:
        items = list(spec["choice"])
        return items[int(rng.integers(0, len(items)))]
    else:
        raise BankError(f"{where}: parameter '{name}' needs one of uniform, randint, normal, choice")
    return round(val, int(spec["round"])) if "round" in spec else val


def _draw_all(rng, params, where):
    return {name: _draw(rng, name, spec, where) for name, spec in (params or {}).items()}


def _shuffle_options(rng, answer, samples):
    """Show options in a random order, re-lettered a, b, c...; translate keys in answer and samples."""
    key_field = "options" if answer["kind"] == "choice" else "items"
    opts = list(answer[key_field])
    order = [int(i) for i in rng.permutation(len(opts))]
    letters = "abcdefghijklmnopqrstuvwxyz"
    rename = {opts[i]["key"]: letters[j] for j, i in enumerate(order)}
    new = dict(answer, **{key_field: [dict(opts[i], key=letters[j]) for j, i in enumerate(order)]})
    target = "correct" if answer["kind"] == "choice" else "order"
    new[target] = [rename[k] for k in answer[target]]
    return new, {k: [_rekey(s, rename) for s in v] for k, v in samples.items()}


def _rekey(sample, rename):
    import re
    text = sample.strip() if isinstance(sample, str) else ""
    if re.fullmatch(r"[a-z]{2,}", text):
        return "".join(rename.get(k, k) for k in text)
    if not re.fullmatch(r"[a-z](?:[ ,]+[a-z])*", text):
        return sample
    return ", ".join(rename.get(k, k) for k in re.split(r"[ ,]+", text))


NEEDS = {"number": ("value", "expr"), "expression": ("value", "expr"), "matrix": ("value", "expr"),
         "choice": ("options",), "truefalse": ("value",), "text": ("accepted",), "ordering": ("items",)}


def _check_answer(answer, where):
    """Tolerances are numbers, each kind has what it needs, choice keys exist."""
    if not isinstance(answer, dict):
        raise BankError(f"{where}: 'answer' must be a mapping like {{kind: number, value: 0.25}}")
    out = dict(answer)
    for tol in ("rtol", "atol"):
        if tol in out:
            try:
                out[tol] = float(out[tol])
            except (TypeError, ValueError):
                raise BankError(f"{where}: {tol} must be a number, got {out[tol]!r}") from None
    if not any(k in out for k in NEEDS.get(out.get("kind"), ())):
        raise BankError(f"{where}: a {out.get('kind')} answer needs {' or '.join(NEEDS.get(out.get('kind'), ('kind',)))}")
    keyed = out.get("options") or out.get("items")
    if keyed:
        keys = [o.get("key") for o in keyed if isinstance(o, dict)]
        want = out.get("correct") if out["kind"] == "choice" else out.get("order")
        if len(keys) != len(keyed) or not want or not set(want) <= set(keys):
            raise BankError(f"{where}: every option needs a key, and the correct keys must be among {keys}")
    return out


def _static_maker(entry, where):
    answer = _check_answer(entry["answer"], where)
    samples = dict(entry.get("samples") or {})
    params_spec = entry.get("params") or {}

    def make(rng):
        params = _draw_all(rng, params_spec, where)
        ans = _resolve_answer(answer, params, where)
        smp = _render_samples(samples, params, ans)
        if entry.get("shuffle") and ans["kind"] in ("choice", "ordering"):
            ans, smp = _shuffle_options(rng, ans, smp)
        return {"params": params, "answer": ans, "samples": smp}
    return make


def _resolve_answer(answer, params, where):
    """``expr`` answers are computed from the drawn parameters through the safe grammar."""
    if "expr" not in answer:
        return answer
    from . import mathinput
    out = {k: v for k, v in answer.items() if k != "expr"}
    try:
        if answer["kind"] == "expression":
            out["value"] = mathinput.instantiate(answer["expr"], params)
        else:
            out["value"] = mathinput.evaluate(answer["expr"], params)
    except BpttError as err:
        raise BankError(f"{where}: answer expr {answer['expr']!r}: {err}") from None
    return out


def _render_samples(samples, params, answer):
    from .present import render_string
    env = dict(params, answer=answer.get("value"))
    return {k: [render_string(s, env) if isinstance(s, str) else s for s in v] for k, v in samples.items()}


def _generated_maker(spec, where):
    from .generators import GENERATORS
    opts = dict(spec)
    name = opts.pop("name", None)
    if name not in GENERATORS:
        raise BankError(f"{where}: unknown generator {name!r}; known: {', '.join(sorted(GENERATORS))}")
    return functools.partial(GENERATORS[name], **opts)


def _kind(entry, where):
    if "answer" in entry:
        return entry["answer"].get("kind", "")
    from .generators import GENERATOR_KINDS
    spec = entry["generator"]
    name = spec.get("name") if isinstance(spec, dict) else None
    if name not in GENERATOR_KINDS:
        raise BankError(f"{where}: unknown generator {name!r}; known: {', '.join(sorted(GENERATOR_KINDS))}")
    return GENERATOR_KINDS[name]


def _question(entry, where, source):
    from .kinds import KINDS
    if not isinstance(entry, dict):
        raise BankError(f"{where}: each entry must be a mapping with id, topic, text, answer")
    missing = [k for k in REQUIRED if k not in entry]
    if missing or ("answer" in entry) == ("generator" in entry):
        need = ", ".join(missing) or "exactly one of 'answer' or 'generator'"
        raise BankError(f"{where}: missing {need}")
    if entry["topic"] not in TOPICS:
        raise BankError(f"{where}: unknown topic {entry['topic']!r}; use one of {', '.join(TOPICS)}")
    kind = _kind(entry, where)
    if kind not in KINDS:
        raise BankError(f"{where}: unknown answer kind {kind!r}; use one of {', '.join(KINDS)}")
    maker = _static_maker(entry, where) if "answer" in entry else _generated_maker(entry["generator"], where)
    return Question(str(entry["id"]), entry["topic"], tuple(entry.get("cells") or ()),
                    int(entry.get("difficulty", 1)), _bilingual(entry, "text", where),
                    _bilingual(entry, "hint", where, required=False), _bilingual(entry, "solution", where),
                    kind, maker, source)


def parse_bank(text: str, source: str) -> list:
    """Questions from the YAML text of a bank (``source`` names it in messages)."""
    import yaml
    if len(text) > MAX_BANK_BYTES:
        raise BankError(f"{source}: bank is larger than {MAX_BANK_BYTES} bytes; split it")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        raise BankError(f"{source}:{at}: not valid YAML ({getattr(err, 'problem', err)}); fix the file") from None
    if isinstance(data, dict) and "questions" in data:
        data = data["questions"]
    if not isinstance(data, list) or not data:
        raise BankError(f"{source}: a bank is a non-empty YAML list of questions")
    out = [_question(e, f"{source}: entry {i + 1} ({e.get('id', '?') if isinstance(e, dict) else '?'})", source)
           for i, e in enumerate(data)]
    _unique(out, source)
    return out


def _unique(questions, source):
    seen = set()
    for q in questions:
        if q.id in seen:
            raise BankError(f"{source}: question id {q.id!r} appears twice; ids must be unique")
        seen.add(q.id)


@functools.lru_cache(maxsize=None)
def builtin() -> tuple:
    """The built-in bank, in file then entry order."""
    files = sorted((f for f in resources.files("quiz").joinpath("bank").iterdir() if f.name.endswith(".yaml")),
                   key=lambda f: f.name)
    out = [q for f in files for q in parse_bank(f.read_text(encoding="utf-8"), f"bank/{f.name}")]
    _unique(out, "built-in bank")
    return tuple(out)


def load_bank(path) -> list:
    """A user bank from a YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BankError(f"bank file {p} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BankError(f"cannot read bank file {p} ({err}); it must be UTF-8 YAML") from None
    return parse_bank(text, str(p))


def select(questions, topic=None, cell=None, ids=None) -> list:
    """Filter by topic, cell, or explicit ids (unknown values are an error naming the choices)."""
    qs = list(questions)
    if topic:
        known = sorted({q.topic for q in qs})
        if topic not in known:
            raise BankError(f"no questions on topic {topic!r}; topics: {', '.join(known)}")
        qs = [q for q in qs if q.topic == topic]
    if cell:
        qs = [q for q in qs if cell in q.cells]
        if not qs:
            raise BankError(f"no questions about cell {cell!r}; try rnn, lstm or gru")
    if ids is not None:
        qs = [q for q in qs if q.id in set(ids)]
    return qs
