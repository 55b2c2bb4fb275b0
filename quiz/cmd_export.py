"""``bptt export``: questions to Moodle XML, GIFT or an Anki deck."""
from __future__ import annotations

import os

import click

from derive.errors import BpttError

EXT = {"moodle": ".xml", "gift": ".gift", "anki": ".apkg"}


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["moodle", "gift", "anki"]), required=True,
              help="moodle (Moodle XML), gift (GIFT text) or anki (.apkg deck).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the numbers in the questions.")
@click.option("--n", "n", type=click.IntRange(min=1), default=None, help="Export n questions (default: all).")
@click.option("--topic", help="Only questions on this topic.")
@click.option("--cell", help="Only questions about this cell (rnn, lstm, gru).")
@click.option("--bank", type=click.Path(dir_okay=False), help="Export your own YAML bank instead of the built-in one.")
@click.option("-o", "--output", help="Output file (default: bptt-questions.<ext>).")
def export_cmd(fmt, lang, seed, n, topic, cell, bank, output):
    """Export questions to Moodle XML, GIFT or Anki.

    Numbers keep bptt's tolerance (as an absolute tolerance at the expected
    value); choices, true/false, short answers (every accepted synonym) and
    orderings (as matching) are graded as bptt grades them. Formula and
    matrix answers cannot be checked faithfully by Moodle or GIFT: they are
    left out and named on stderr. Anki cards take every kind (self-graded);
    re-importing updates the same notes (GUIDs come from question ids).
    Same seed, same bytes.
    """
    from derive.arrays_io import write_bytes
    from .bank import builtin, load_bank, select
    from .export import select_variants
    qs = select(load_bank(bank) if bank else builtin(), topic=topic, cell=cell)
    path = output or "bptt-questions" + EXT[fmt]
    pairs, skipped = select_variants(qs, fmt, seed, n)
    if not pairs:
        raise BpttError(f"no question can be exported to {fmt} with these filters; try another --topic or format")
    data = _render(fmt, pairs, lang)
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise BpttError(f"cannot write {path}: its folder does not exist; create it or choose another -o")
    write_bytes(path, data)
    click.echo(f"wrote {path}: {len(pairs)} questions")
    if skipped:
        click.echo(f"bptt: left out {len(skipped)} questions that {fmt} cannot check faithfully "
                   f"(formula or matrix answers): {', '.join(skipped)}", err=True)


def _render(fmt, pairs, lang) -> bytes:
    from . import export
    if fmt == "moodle":
        return export.moodle_xml([export.moodle_item(q, v, lang) for q, v in pairs]).encode("utf-8")
    if fmt == "gift":
        return export.gift([export.gift_item(q, v, lang) for q, v in pairs]).encode("utf-8")
    from .export_anki import deck_bytes
    return deck_bytes(pairs, lang)
