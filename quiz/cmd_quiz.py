"""``bptt quiz`` (interactive or ``--answers``) and ``bptt stats``."""
from __future__ import annotations

import json

import click

from derive.errors import BpttError

LANG = click.Choice(["en", "zh"])


def _questions(bank, topic, cell):
    from .bank import builtin, load_bank, select
    qs = load_bank(bank) if bank else builtin()
    return select(qs, topic=topic, cell=cell)


def variant_seed(seed: int, qid: str, review_day=None) -> int:
    """A question's variant depends only on the session seed and its id (and the day, in review)."""
    from .exercises import seed_for
    if review_day is None:
        return seed_for("quiz", seed, qid)
    return seed_for("quiz-review", seed, qid, review_day.isoformat())


def _pick(qs, n, seed, review=False, store=None, day=None):
    """``n`` (question, variant) pairs in an order drawn from ``seed``.

    With a store, questions asked fewest times come first (a stable sort, so
    the seed still decides among equals); ``review`` keeps only those due on
    ``day`` and gives them a fresh variant.
    """
    import numpy as np
    if review:
        due = set(store.due(day))
        qs = [q for q in qs if q.id in due]
    rng = np.random.default_rng(seed)
    order = [qs[int(i)] for i in rng.permutation(len(qs))]
    if store is not None and not review:
        asked = store.counts()
        order.sort(key=lambda q: asked.get(q.id, 0))
    vday = day if review else None
    return [(q, q.generate(variant_seed(seed, q.id, vday))) for q in order[:n]]


def _reader():
    """``ask(prompt) -> line``; in a terminal ``input`` with line editing, else a plain read."""
    stream = click.get_text_stream("stdin")
    if stream.isatty():
        try:
            import readline  # noqa: F401  (arrow keys and history for input())
        except ImportError:
            pass
        return input

    def ask(prompt):
        click.echo(prompt, nl=False)
        line = stream.readline()
        if not line:
            raise EOFError
        return line
    return ask


@click.command("quiz")
@click.option("--topic", help="Only questions on this topic (e.g. vanishing, lstm, gru, params).")
@click.option("--cell", help="Only questions about this cell: rnn, lstm or gru.")
@click.option("--n", "n", type=click.IntRange(min=1), default=10, show_default=True, help="Number of questions.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed for the choice of questions and their numbers (default: today's date as YYYYMMDD; "
                   "0 with --answers and --list).")
@click.option("--lang", type=LANG, default="en", show_default=True, help="Language of questions and feedback.")
@click.option("--review", is_flag=True, help="Only questions due for spaced review (missed ones come back the next day).")
@click.option("--bank", type=click.Path(dir_okay=False), help="Use your own YAML question bank instead of the built-in one.")
@click.option("--db", type=click.Path(dir_okay=False),
              help="Progress database (default: $BPTT_DB, else $XDG_DATA_HOME/bptt/progress.sqlite3).")
@click.option("--list", "list_only", is_flag=True, help="Print the questions --seed selects, without asking.")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False),
              help="Grade answers from a JSON/YAML file {question id: answer} instead of asking.")
@click.option("--json", "as_json", is_flag=True, help="With --answers or --list: print JSON.")
def quiz_cmd(topic, cell, n, seed, lang, review, bank, db, list_only, answers_file, as_json):
    """Practise interview questions one at a time, with instant feedback.

    Type an answer, or `hint`, `skip`, `quit`. Unreadable input is asked
    again at no cost. Ctrl-C or the end of input ends the session with a
    summary; each answer is saved as soon as it is graded. Missed and
    skipped questions are due again the next day (SM-2): `bptt quiz --review`.

    Without --seed the seed is today's date (printed at the start), and the
    questions you were asked least come first, so a second session on the
    same day moves on. BPTT_TODAY=YYYY-MM-DD sets the day.

    For scripts and graders (nothing is written to the progress database):

    \b
      bptt quiz --list --json --seed 7 --n 5 > questions.json
      bptt quiz --answers answers.json --seed 7 --json

    --list shows the questions (id, topic, kind, text, choices, and the
    variant, which holds the answer: keep it from students).
    --answers FILE maps question ids to answer text (JSON or YAML). Each
    question's variant depends only on --seed (default 0 here) and its id;
    or give {"answer": ..., "variant": {...}} to grade a variant printed
    earlier. --json prints a list of {id, status, correct, score, feedback,
    read_as, expected, variant}; status is correct, incorrect or invalid
    (unreadable). Exit code 0 whatever the marks; 2 with one line on stderr
    for bad input (unknown id, unreadable file).
    """
    qs = _questions(bank, topic, cell)
    if as_json and not (answers_file or list_only):
        raise BpttError("--json goes with --answers FILE or --list; the interactive quiz prints text")
    if answers_file:
        return _batch(qs, answers_file, seed or 0, lang, as_json)
    if list_only:
        return _list(_pick(qs, n, seed or 0), lang, as_json)
    _interactive(qs, n, seed, lang, review, db)


def _interactive(qs, n, seed, lang, review, db):
    import datetime as dt
    from .schedule import today
    from .store import Store, default_path
    day = today()
    seed = int(day.strftime("%Y%m%d")) if seed is None else seed
    with Store(db or default_path()) as store:
        items = _pick(qs, n, seed, review, store, day)
        if not items:
            click.echo("Nothing is due for review today." if lang == "en" else "今天没有需要复习的题目。")
            return
        what = ("review, " if review else "") + f"{len(items)} question{'s' * (len(items) > 1)}, seed {seed}"
        click.echo(f"bptt quiz: {what}" if lang == "en" else
                   f"bptt quiz：{'复习，' if review else ''}共 {len(items)} 题，随机种子 {seed}")
        from .session import run, summary
        tally = run(items, store, _reader(), click.echo, lang, day)
        summary(tally, lang, click.echo, len(store.due(day + dt.timedelta(days=1))))


def _list(items, lang, as_json):
    from .present import render
    out = []
    for q, v in items:
        shown = render(q, v, lang, "terminal")
        out.append({"id": q.id, "topic": q.topic, "cells": list(q.cells), "difficulty": q.difficulty,
                    "kind": shown["kind"], "text": shown["text"], "choices": shown["choices"],
                    "variant": v.to_json()})
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=1, sort_keys=True))
        return
    for k, r in enumerate(out, start=1):
        click.echo(f"{k}. {r['id']}  [{r['topic']}, {r['kind']}]\n   {r['text']}")
        for key, text in r["choices"]:
            click.echo(f"   {key}) {text}")


def _load_answers(path) -> dict:
    import yaml
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise BpttError(f"answers file {path} does not exist; check the path") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise BpttError(f"cannot read answers file {path} ({type(err).__name__}); "
                        "it must be JSON or YAML mapping question id -> answer") from None
    if not isinstance(data, dict) or not data:
        raise BpttError(f"answers file {path} must map question ids to answers, e.g. {{\"lstm.forget-gate-name\": \"forget gate\"}}")
    return data


def _answer_text(raw) -> str:
    """YAML may give numbers, booleans or a list of choices; grade them as typed text."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, list):
        return " ".join(str(r) for r in raw)
    return str(raw)


def _stored_variant(qid, stored, path):
    from .model import Variant
    try:
        v = Variant.from_json(stored)
        ok = v.qid == qid and isinstance(v.answer, dict) and "kind" in v.answer
    except (KeyError, TypeError, ValueError, AttributeError):
        ok = False
    if not ok:
        raise BpttError(f"the variant given for {qid!r} in {path} is not one printed by bptt for that question "
                        "(needs qid, seed, params, answer); leave it out to use --seed")
    return v


def _batch(qs, path, seed, lang, as_json):
    from .present import render
    by_id = {q.id: q for q in qs}
    answers = _load_answers(path)
    unknown = [str(k) for k in answers if k not in by_id]
    if unknown:
        raise BpttError(f"unknown question id {unknown[0]!r} in {path}; 'bptt quiz --list' shows the ids "
                        "(with the same --bank, --topic, --cell)")
    results = []
    for qid, entry in answers.items():
        q = by_id[qid]
        raw, stored = (entry.get("answer"), entry.get("variant")) if isinstance(entry, dict) else (entry, None)
        v = _stored_variant(qid, stored, path) if stored else q.generate(variant_seed(seed, qid))
        verdict = q.grade(v, _answer_text(raw), lang)
        results.append({"id": qid, **verdict.to_json(), "expected": render(q, v, lang)["expected"],
                        "variant": v.to_json()})
    _print_batch(results, as_json)


def _print_batch(results, as_json):
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True))
        return
    for r in results:
        click.echo(f"{r['id']}: {r['status']} (expected {r['expected']}) {r['feedback']}")


@click.command("stats")
@click.option("--db", type=click.Path(dir_okay=False),
              help="Progress database (default: $BPTT_DB, else $XDG_DATA_HOME/bptt/progress.sqlite3).")
@click.option("--lang", type=LANG, default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats_cmd(db, lang, as_json):
    """Your progress: answers (skips apart), accuracy by topic, reviews due, streak of days."""
    from .schedule import today
    from .store import Store, default_path
    from pathlib import Path
    path = Path(db or default_path())
    if not path.exists():
        raise BpttError(f"no progress yet at {path}; run 'bptt quiz' first (or pass --db)")
    with Store(path) as store:
        st = store.stats(today())
    if as_json:
        click.echo(json.dumps(st, ensure_ascii=False, sort_keys=True))
    else:
        _print_stats(st, lang == "zh")


def _print_stats(st, zh):
    acc = f"{100 * st['correct'] / st['answered']:.0f}%" if st["answered"] else "–"
    click.echo((f"作答 {st['answered']} 题，正确率 {acc}，跳过 {st['skipped']} 题" if zh else
                f"{st['answered']} answered, {acc} correct, {st['skipped']} skipped"))
    for t, r in st["by_topic"].items():
        click.echo(f"  {t}: {r['correct']}/{r['answered']}")
    click.echo((f"今天待复习 {st['due_today']} 题，明天新增 {st['due_tomorrow']} 题" if zh else
                f"due today: {st['due_today']}, due tomorrow: {st['due_tomorrow']}"))
    click.echo(f"已连续 {st['streak']} 天练习" if zh else f"streak: {st['streak']} day(s) in a row")
