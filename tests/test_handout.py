"""bptt handout: structure, reproducibility, bad input, PDFs in both languages, HTML typeset in Chromium."""
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from derive.cli import cli
from quiz.handout import build

HAS_TEX = bool(shutil.which("latexmk") and shutil.which("xelatex") and shutil.which("pdftotext"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def rnn_md():
    return build(["rnn"], "en", "md", seed=3, n_exercises=4)


def test_markdown_has_display_maths_figures_exercises_and_key(rnn_md):
    text = rnn_md.text
    assert "$$\n\\begin{aligned}" in text and "](figures/activations.png)" in text and "](figures/flow-rnn.png)" in text
    assert "## Exercises" in text and "## Answer key" in text and text.count("**1.**") == 2
    assert set(rnn_md.files) == {"activations.png", "flow-rnn.png"}
    assert all(data.startswith(b"\x89PNG") for data in rnn_md.files.values())


def test_same_seed_same_bytes_other_seed_other_exercises(rnn_md):
    again = build(["rnn"], "en", "md", seed=3, n_exercises=4)
    assert again.text == rnn_md.text and again.files == rnn_md.files
    other = build(["rnn"], "en", "md", seed=4, n_exercises=4)
    ex = lambda t: t[t.index("## Exercises"):]
    assert ex(other.text) != ex(rnn_md.text)


def test_tex_for_gru_in_chinese_has_conventions_side_by_side_and_no_key_when_asked():
    h = build(["gru"], "zh", "tex", seed=0, n_exercises=3, answers=False)
    assert "GRU 的几种约定对照" in h.text and r"\usepackage{xeCJK}" in h.text
    assert "h_t = z_t \\odot h_{t-1} + (1 - z_t) \\odot \\tilde h_t" in h.text
    assert "参考答案" not in h.text and r"\includegraphics" in h.text and "flow-gru.pdf" in h.files
    assert h.files["flow-gru.pdf"].startswith(b"%PDF")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "derive.cli", *args], capture_output=True, text=True)


def _one_line(p):
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("bptt: error:") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    return p.stderr


def test_bad_input_is_one_line_and_leaves_nothing(tmp_path):
    assert "lstmm" in _one_line(_run("handout", "lstmm", "--format", "tex", "-o", str(tmp_path / "h.tex")))
    assert "format" in _one_line(_run("handout", "rnn", "--format", "docx", "-o", str(tmp_path / "h.docx")))
    assert "does not exist" in _one_line(_run("handout", "rnn", "--format", "md", "-o", str(tmp_path / "no" / "h.md")))
    assert list(tmp_path.iterdir()) == []


def test_missing_tex_names_the_packages_and_tex_still_works(tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))
    p = subprocess.run([sys.executable, "-m", "derive.cli", "handout", "rnn", "--exercises", "1", "-o",
                        str(tmp_path / "h.pdf")], capture_output=True, text=True, env=env)
    assert "apt-get install" in _one_line(p) and "--format tex" in p.stderr
    assert not (tmp_path / "h.pdf").exists()
    p = subprocess.run([sys.executable, "-m", "derive.cli", "handout", "rnn", "--exercises", "1", "--format", "tex",
                        "-o", str(tmp_path / "h.tex")], capture_output=True, text=True, env=env)
    assert p.returncode == 0 and (tmp_path / "h.tex").exists() and (tmp_path / "flow-rnn.pdf").exists()


@pytest.mark.skipif(not HAS_TEX, reason="needs latexmk, xelatex, pdftotext")
def test_latex_failure_shows_first_error_and_keeps_the_source(tmp_path):
    from derive.errors import BpttError
    from quiz.latex import compile_pdf
    with pytest.raises(BpttError, match=r"! Undefined control sequence.*kept in .*broken\.tex"):
        compile_pdf("\\documentclass{article}\\begin{document}\\nosuchmacro\\end{document}\n", tmp_path / "broken.pdf")
    assert (tmp_path / "broken.tex").exists() and not (tmp_path / "broken.pdf").exists()


@pytest.mark.skipif(not HAS_TEX, reason="needs latexmk, xelatex, pdftotext")
@pytest.mark.parametrize("lang, words", [
    ("en", ["Backpropagation through time: RNN, LSTM, GRU", "Elman RNN", "LSTM", "GRU conventions side by side",
            "Exercises", "Answer key", "Numerical check"]),
    ("zh", ["循环神经网络的反向传播", "激活函数的导数", "GRU 的几种约定对照", "练习", "参考答案", "梯度流"]),
])
def test_three_cell_pdf_compiles_and_reads_back(tmp_path, lang, words):
    out = tmp_path / f"handout_{lang}.pdf"
    p = _run("handout", "rnn", "lstm", "gru", "--lang", lang, "-o", str(out))
    assert p.returncode == 0, p.stderr
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    for w in words:
        assert w in text, w
    pages = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    assert int(pages.split("Pages:")[1].split()[0]) > 10


@pytest.mark.skipif(not CHROMIUM, reason="needs chromium")
def test_html_is_typeset_offline_in_headless_chromium(tmp_path):
    out = tmp_path / "h.html"
    assert CliRunner().invoke(cli, ["handout", "gru", "--format", "html", "--exercises", "3", "-o", str(out)]).exit_code == 0
    html = out.read_text(encoding="utf-8")
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1000,1400", out.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert dom.count('class="katex"') > 50 and 'class="katex-error"' not in dom
    visible = _visible_text(dom)
    assert "$$" not in visible and "\\frac" not in visible and "\\odot" not in visible


def _visible_text(dom: str) -> str:
    """Text outside KaTeX's MathML copies (annotation elements hold the TeX source on purpose)."""
    import re
    dom = re.sub(r"<script.*?</script>|<style.*?</style>|<annotation.*?</annotation>", "", dom, flags=re.S)
    return re.sub(r"<[^>]+>", " ", dom)
