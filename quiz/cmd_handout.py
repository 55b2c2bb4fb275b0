"""``bptt handout``: a study handout for one or more cells (pdf, tex, md, html)."""
from __future__ import annotations

import os

import click

from derive.errors import BpttError


def _output(path, fmt):
    path = path or f"handout.{ 'md' if fmt == 'md' else fmt }"
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise BpttError(f"cannot write {path}: folder {parent} does not exist; create it or choose another -o")
    if not os.access(parent, os.W_OK):
        raise BpttError(f"cannot write {path}: folder {parent} is not writable; choose another -o")
    return path


def write(handout, fmt: str, path: str) -> list:
    """Write the handout (and for md its figures folder); returns the paths written."""
    from derive.arrays_io import write_bytes
    if fmt == "pdf":
        from .latex import compile_pdf
        compile_pdf(handout.text, path, handout.files)
        return [path]
    written = []
    if fmt in ("md", "tex"):
        figdir = figures_dir(path, fmt)
        os.makedirs(figdir, exist_ok=True)
        for name, data in sorted(handout.files.items()):
            write_bytes(os.path.join(figdir, name), data)
            written.append(os.path.join(figdir, name))
    write_bytes(path, handout.text.encode("utf-8"))
    return [path] + written


def figures_dir(path: str, fmt: str) -> str:
    """md: ``<stem>_figures/`` next to the file; tex: the file's own folder (graphicx finds them)."""
    stem = os.path.splitext(path)[0]
    return stem + "_figures" if fmt == "md" else os.path.dirname(os.path.abspath(path))


@click.command("handout")
@click.argument("cells", nargs=-1, required=True)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["pdf", "tex", "md", "html"]), default="pdf", show_default=True,
              help="pdf (latexmk + xelatex), tex (the LaTeX source and PDF figures), md ($$ maths, PNG figures "
                   "in <name>_figures/), html (one self-contained file, maths by bundled KaTeX).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the exercises' numbers and of the check and flow experiments.")
@click.option("--answers/--no-answers", default=True, show_default=True, help="Add the answer key after the exercises.")
@click.option("--exercises", "n_exercises", type=click.IntRange(min=0, max=60), default=8, show_default=True,
              help="Number of exercises.")
@click.option("-o", "--output", help="Output file (default: handout.<format>).")
def handout_cmd(cells, lang, fmt, seed, answers, n_exercises, output):
    """A study handout for CELLS (rnn, lstm, gru, gru:cho, lstm-peephole ...).

    Per cell: equations and conventions, Jacobians and their products, BPTT
    in adjoint form, parameter gradients, an unrolled 3-step example, a
    numerical check table and the gradient-flow figure; then exercises and
    (unless --no-answers) the key. Same seed, same bytes.

    Example: bptt handout rnn lstm gru --lang zh -o rnn_zh.pdf
    """
    path = _output(output, fmt)
    from .handout import build
    stem = os.path.splitext(os.path.basename(path))[0]
    h = build(list(cells), lang, fmt, seed, answers, n_exercises, figdir=stem + "_figures")
    for p in write(h, fmt, path)[:1]:
        click.echo(f"wrote {p}")
