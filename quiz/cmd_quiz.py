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


def variant_seed(seed: int, qid: str) -> int:
    """A question's variant depends only on the session seed and its id."""
    from .exercises import seed_for
    return seed_for("quiz", seed, qid)


def _pick(qs, n, seed, review, store, day):
    import numpy as np
    if review:
        due = set(store.due(day))
        qs = [q for q in qs if q.id in due]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(qs))[:n]
    return [(qs[int(i)], qs[int(i)].generate(variant_seed(seed, qs[int(i)].id))) for i in order]


def _reader():
    stream = click.get_text_stream("stdin")

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
              help="Seed for the choice of questions and their numbers (default: a fresh one, printed).")
@click.option("--lang", type=LANG, default="en", show_default=True, help="Language of questions and feedback.")
@click.option("--review", is_flag=True, help="Only questions due for spaced review (missed ones come back the next day).")
@click.option("--bank", type=click.Path(dir_okay=False), help="Use your own YAML question bank instead of the built-in one.")
@click.option("--db", type=click.Path(dir_okay=False), help="Progress database (default: $XDG_DATA_HOME/bptt/progress.sqlite3).")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False),
              help="Grade answers from a JSON/YAML file {question id: answer} instead of asking.")
@click.option("--json", "as_json", is_flag=True, help="With --answers: print the results as JSON.")
def quiz_cmd(topic, cell, n, seed, lang, review, bank, db, answers_file, as_json):
    """Practise interview questions one at a time, with instant feedback.

    Type an answer, or `hint`, `skip`, `quit`. Unreadable input is asked
    again at no cost; Ctrl-C ends the session and keeps what you answered.
    Progress and spaced review (SM-2) live in a SQLite file.

    With --answers FILE the questions named in FILE are graded without
    asking: the variant of each question depends only on --seed (default 0
    there) and the question id, so a script can show and grade the same
    numbers. A value may also be {"answer": ..., "variant": {...}} to grade a
    stored variant (as printed by --json).
    """
    from .schedule import today
    from .store import Store, default_path
    qs = _questions(bank, topic, cell)
    if answers_file:
        return _batch(qs, answers_file, 0 if seed is None else seed, lang, as_json)
    if seed is None:
        import secrets
        seed = secrets.randbelow(10**6)
    day = today()
    with Store(db or default_path()) as store:
        items = _pick(qs, n, seed, review, store, day)
        if not items:
            click.echo("Nothing is due for review today." if lang == "en" else "今天没有需要复习的题目。")
            return
        click.echo(f"bptt quiz: {len(items)} questions, seed {seed}" if lang == "en"
                   else f"bptt quiz：共 {len(items)} 题，随机种子 {seed}")
        from .session import run, summary
        tally = run(items, store, _reader(), click.echo, lang, day)
        summary(tally, lang, click.echo)


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


def _batch(qs, path, seed, lang, as_json):
    from .model import Variant
    from .present import render
    by_id = {q.id: q for q in qs}
    answers = _load_answers(path)
    unknown = [k for k in answers if k not in by_id]
    if unknown:
        raise BpttError(f"unknown question id {unknown[0]!r} in {path}; list ids with 'bptt quiz --answers' on a known bank")
    results = []
    for qid, entry in answers.items():
        q = by_id[qid]
        raw, stored = (entry.get("answer"), entry.get("variant")) if isinstance(entry, dict) else (entry, None)
        v = Variant.from_json(stored) if stored else q.generate(variant_seed(seed, qid))
        verdict = q.grade(v, str(raw) if raw is not None else "", lang)
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
@click.option("--db", type=click.Path(dir_okay=False), help="Progress database (default: $XDG_DATA_HOME/bptt/progress.sqlite3).")
@click.option("--lang", type=LANG, default="en", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats_cmd(db, lang, as_json):
    """Your progress: answers, accuracy by topic, and reviews due."""
    from .schedule import today
    from .store import Store, default_path
    path = db or default_path()
    from pathlib import Path
    if not Path(path).exists():
        raise BpttError(f"no progress yet at {path}; run 'bptt quiz' first (or pass --db)")
    with Store(path) as store:
        st = store.stats(today())
    if as_json:
        click.echo(json.dumps(st, ensure_ascii=False, sort_keys=True))
        return
    zh = lang == "zh"
    acc = f"{100 * st['correct'] / st['answered']:.0f}%" if st["answered"] else "–"
    click.echo((f"作答 {st['answered']} 题，正确率 {acc}，跳过 {st['skipped']} 题" if zh else
                f"{st['answered']} answered, {acc} correct, {st['skipped']} skipped"))
    for t, r in st["by_topic"].items():
        click.echo(f"  {t}: {r['correct']}/{r['answered']}")
    click.echo((f"今天待复习 {st['due_today']} 题，明天新增 {st['due_tomorrow']} 题" if zh else
                f"due today: {st['due_today']}, due tomorrow: {st['due_tomorrow']}"))
