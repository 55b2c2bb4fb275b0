"""``bptt export``: questions to Moodle XML, GIFT or an Anki deck."""
from __future__ import annotations

import os

import click

from derive.errors import BpttError

EXT = {"moodle": ".xml", "gift": ".gift", "anki": ".apkg"}
WRITERS = {"moodle": "quiz.export_moodle", "gift": "quiz.export_gift", "anki": "quiz.export_anki"}


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(list(EXT)), required=True,
              help="moodle (Moodle XML), gift (GIFT text) or anki (.apkg deck).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the numbers in the questions.")
@click.option("--n", "n", type=click.IntRange(min=1), default=None, help="Export n questions, picked by the seed (default: all).")
@click.option("--topic", help="Only questions on this topic.")
@click.option("--cell", help="Only questions about this cell (rnn, lstm, gru).")
@click.option("--bank", type=click.Path(dir_okay=False), help="Export your own YAML bank instead of the built-in one.")
@click.option("-o", "--output", help="Output file (default: bptt-questions.<ext>).")
def export_cmd(fmt, lang, seed, n, topic, cell, bank, output):
    """Export questions to Moodle XML, GIFT or Anki.

    Each question is exported only in a form that grades as bptt grades it:
    numbers with bptt's tolerance (absolute, at the expected value), matrices
    as Moodle cloze blanks per entry, choices with bptt's partial credit,
    true/false, short answers with every accepted synonym, orderings as
    matching. Formula answers (and matrices in GIFT) cannot be checked
    faithfully and are left out, named on stderr. Anki cards take every kind
    (self-graded); re-importing updates the same notes. Same seed, same bytes.
    """
    from importlib import import_module
    from derive.arrays_io import write_bytes
    from .bank import builtin, load_bank, select
    from .export import select_variants, skipped_line
    path = output or "bptt-questions" + EXT[fmt]
    _check_target(path)
    qs = select(load_bank(bank) if bank else builtin(), topic=topic, cell=cell)
    pairs, skipped = select_variants(qs, fmt, seed, n)
    if not pairs:
        raise BpttError(f"no question can be exported to {fmt} with these filters; try another --topic or format")
    write_bytes(path, import_module(WRITERS[fmt]).document(pairs, lang))
    click.echo(f"wrote {path}: {len(pairs)} questions")
    if skipped:
        click.echo(skipped_line(fmt, skipped), err=True)


def _check_target(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise BpttError(f"cannot write {path}: it is a folder; give a file name with -o")
    if not os.path.isdir(folder):
        raise BpttError(f"cannot write {path}: its folder does not exist; create it or choose another -o")
    if not os.access(folder, os.W_OK):
        raise BpttError(f"cannot write {path}: its folder is not writable; choose another -o")
