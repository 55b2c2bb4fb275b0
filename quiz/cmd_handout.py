"""``bptt handout``: a study handout for one or more cells (pdf, tex, md, html)."""
from __future__ import annotations

import os
import re

import click

from derive.errors import BpttError

FORMATS = ("pdf", "tex", "md", "html")


def output_path(path: str | None, fmt: str) -> str:
    """``-o`` (default ``handout.<fmt>``) after checking its folder exists and is writable."""
    path = path or f"handout.{fmt}"
    if os.path.isdir(path):
        raise BpttError(f"cannot write {path}: it is a folder; give a file name such as {os.path.join(path, 'handout.' + fmt)}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise BpttError(f"cannot write {path}: folder {parent} does not exist; create it or choose another -o")
    if not os.access(parent, os.W_OK):
        raise BpttError(f"cannot write {path}: folder {parent} is not writable; choose another -o")
    return path


def figures_folder(path: str) -> str:
    """``<stem>_figures``: the figures' folder next to a .md or .tex file, or next to the .tex a failed
    PDF build keeps (a name LaTeX and Markdown both accept)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem) + "_figures"


def write(handout, fmt: str, path: str, figdir: str) -> None:
    """Write the handout; md and tex get their figures in ``figdir`` next to the file, written first.

    Every file is written atomically (temporary file, then rename), so an error leaves no
    half-written file; the main file comes last, so it never points at missing figures.
    """
    from derive.arrays_io import write_bytes
    if fmt == "pdf":
        from .latex import compile_pdf
        compile_pdf(handout.text, path, {f"{figdir}/{n}": d for n, d in handout.files.items()})
        return
    if fmt in ("md", "tex"):
        folder = os.path.join(os.path.dirname(os.path.abspath(path)), figdir)
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as err:
            raise BpttError(f"cannot create the figures folder {folder}: {err.strerror}; choose another -o") from None
        for name, data in sorted(handout.files.items()):
            write_bytes(os.path.join(folder, name), data)
    write_bytes(path, handout.text.encode("utf-8"))


@click.command("handout")
@click.argument("cells", nargs=-1, required=True)
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="pdf", show_default=True,
              help="pdf (latexmk + xelatex); tex (the LaTeX source, PDF figures in <name>_figures/); "
                   "md ($$ maths, PNG figures in <name>_figures/); html (one self-contained file, "
                   "maths typeset offline by the bundled KaTeX).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Picks the exercises and their numbers (the derivations and figures do not change).")
@click.option("--answers/--no-answers", default=True, show_default=True, help="Add the answer key after the exercises.")
@click.option("--exercises", "n_exercises", type=click.IntRange(min=0, max=60), default=8, show_default=True,
              help="Number of exercises (0: none).")
@click.option("-o", "--output", metavar="PATH", help="Output file.  [default: handout.<format> here]")
def handout_cmd(cells, lang, fmt, seed, answers, n_exercises, output):
    """A study handout for CELLS: rnn, rnn:relu, rnn:sigmoid, lstm, lstm-peephole, gru, gru:cho, gru:swapped.

    \b
    Per cell: equations and conventions (GRU conventions side by side),
    Jacobians, their products and bound, BPTT in adjoint form, parameter
    gradients, an unrolled 3-step example, a numerical check table, and
    the activation-slope and gradient-flow figures. Then exercises, and
    their key unless --no-answers. The same arguments give the same bytes.

    \b
    PDF needs latexmk and xelatex (Debian: texlive-xetex texlive-lang-chinese
    fonts-noto-cjk latexmk); --format tex writes the source without them.

    Example: bptt handout rnn lstm gru --lang zh -o rnn_zh.pdf
    """
    path = output_path(output, fmt)
    from .handout import build
    figdir = figures_folder(path)
    h = build(list(cells), lang, fmt, seed, answers, n_exercises, figdir=figdir)
    write(h, fmt, path, figdir)
    click.echo(f"wrote {path}" + (f" and {figdir}/" if fmt in ("md", "tex") else ""))
