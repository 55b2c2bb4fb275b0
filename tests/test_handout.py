"""bptt handout: structure, figures, reproducibility, bad input, PDFs in both languages, HTML typeset in Chromium.

The PDF tests need latexmk + xelatex + pdftotext (skipped otherwise; run them alone with
``pytest tests/test_handout.py -k pdf``); the browser test needs chromium (``-k chromium``).
"""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from derive.cli import cli
from quiz.handout import build, load_cell

HAS_TEX = bool(shutil.which("latexmk") and shutil.which("xelatex") and shutil.which("pdftotext"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_tex = pytest.mark.skipif(not HAS_TEX, reason="needs latexmk, xelatex, pdftotext")


@pytest.fixture(scope="module")
def rnn_md():
    return build(["rnn"], "en", "md", seed=3, n_exercises=4)


# ---------------------------------------------------------------------------- structure


def test_markdown_has_display_maths_figures_check_exercises_and_key(rnn_md):
    text = rnn_md.text
    assert "$$\n\\begin{aligned}" in text and "$$\n\\frac{\\partial h_{t}}{\\partial h_{t-1}}" in text
    assert "](figures/act-rnn.png)" in text and "](figures/flow-rnn.png)" in text
    heads = re.findall(r"^(#+) (.+)$", text, flags=re.M)
    assert heads[0] == ("#", "Backpropagation through time: RNN") and ("##", "Elman RNN (tanh)") in heads
    assert [h for h in heads if h[0] == "##"] == [("##", "Elman RNN (tanh)"), ("##", "Exercises"), ("##", "Answer key")]
    assert ("###", "Numerical check") in heads and ("###", "Gradient flow") in heads
    assert text.count("**1.**") == 2 and "**4.**" in text and "**5.**" not in text
    assert set(rnn_md.files) == {"act-rnn.png", "flow-rnn.png"}
    assert all(data.startswith(b"\x89PNG") for data in rnn_md.files.values())


def test_same_seed_same_bytes_other_seed_other_exercises(rnn_md):
    again = build(["rnn"], "en", "md", seed=3, n_exercises=4)
    assert again.text == rnn_md.text and again.files == rnn_md.files
    other = build(["rnn"], "en", "md", seed=4, n_exercises=4)
    ex = lambda t: t[t.index("## Exercises"):]
    assert ex(other.text) != ex(rnn_md.text)
    body = lambda t: t[t.index("## Elman"):t.index("## Exercises")]
    assert body(other.text) == body(rnn_md.text)  # only the exercises depend on the seed
    numbers = lambda t: set(re.findall(r"-?\d+\.\d+", ex(t)))
    assert numbers(other.text) != numbers(rnn_md.text)


def test_tex_for_gru_in_chinese_has_conventions_side_by_side_and_no_key_when_asked():
    h = build(["gru"], "zh", "tex", seed=0, n_exercises=3, answers=False, figdir="g_figures")
    assert r"\usepackage{xeCJK}" in h.text and r"\section{GRU（PyTorch 的约定）}" in h.text
    table = h.text.index("GRU 的几种约定对照")
    assert h.text.index("记号约定") < table < h.text.index(r"\subsection{前向计算}")
    assert "h_t = z_t \\odot h_{t-1} + (1 - z_t) \\odot \\tilde h_t" in h.text
    assert "参考答案" not in h.text and "练习" in h.text
    assert r"\includegraphics[width=0.92\linewidth]{g_figures/flow-gru.pdf}\par" in h.text
    assert set(h.files) == {"act-gru.pdf", "flow-gru.pdf"} and h.files["flow-gru.pdf"].startswith(b"%PDF")
    assert "本单元中，sigmoid 出现在 $r_t, z_t$ 的式子里，tanh 出现在 $n_t$ 的式子里" in h.text


def test_english_tex_has_no_cjk_setup_and_no_exercises_when_zero():
    h = build(["lstm"], "en", "tex", n_exercises=0)
    assert "xeCJK" not in h.text and "Exercises" not in h.text and "Answer key" not in h.text
    assert r"\section{LSTM (with forget gate)}" in h.text and "Dashed: the cell path" in h.text


def test_every_builtin_variant_gets_its_figures_and_repeats_are_dropped():
    h = build(["gru:cho", "lstm-peephole", "rnn:relu", "GRU:CHO"], "en", "md", n_exercises=1)
    assert set(h.files) == {f"{k}-{c}.png" for k in ("act", "flow") for c in ("gru-cho", "lstm-peephole", "rnn-relu")}
    assert h.text.count("## GRU (convention of Cho et al. 2014)") == 1
    assert "sigmoid in the equations of $r_t, z_t$ and tanh in the equation of $\\tilde{h}_t$" in h.text


def test_activations_used_reads_the_cell_equations():
    from quiz.handout_figures import activations_used
    assert activations_used(load_cell("lstm")) == {"sigmoid": ["i", "f", "o"], "tanh": ["g", "h"]}
    assert activations_used(load_cell("gru")) == {"sigmoid": ["r", "z"], "tanh": ["n"]}
    assert activations_used(load_cell("rnn:relu")) == {"relu": ["h"]}


def test_generic_flow_matches_a_hand_computed_rnn_jacobian_product():
    """The flow path for cells `bptt flow` does not know, against J_t = diag(1 - h_t^2) W by hand."""
    from quiz.handout_figures import _generic_decay, _xavier
    cell = load_cell("rnn")
    steps, n_h, n_x = 6, 3, 2
    got = _generic_decay(cell, 5, steps=steps, hidden=n_h, n_x=n_x, seeds=1)["curves"]
    assert [c["path"] for c in got] == ["state"]
    rng = np.random.default_rng(np.random.SeedSequence(5).spawn(1)[0])
    shapes = {"U": (n_h, n_x), "W": (n_h, n_h), "b": (n_h, 1)}
    p = {k: _xavier(shapes[k], rng) for k in cell.params}
    xs = rng.standard_normal((steps, n_x, 1))
    h, Js = np.zeros((n_h, 1)), []
    for x in xs:
        h = np.tanh(p["U"] @ x + p["W"] @ h + p["b"])
        Js.append(np.diag(1 - h[:, 0] ** 2) @ p["W"])
    P, want = np.eye(n_h), []
    for J in reversed(Js):
        P = P @ J
        want.append(np.linalg.norm(P, 2))
    np.testing.assert_allclose(got[0]["mean"], want, rtol=1e-10)


def test_flow_facts_in_the_caption_come_from_the_experiment():
    from quiz.handout_figures import cell_figures, flow_result
    r = flow_result(load_cell("rnn"))
    _, _, facts = cell_figures("rnn", "en", ".png")
    assert facts["gamma"] == r["curves"][0]["gamma"] == 1.0 and facts["end"] == r["curves"][0]["mean"][-1]
    h = build(["rnn"], "en", "md", n_exercises=0)
    assert f"\\Vert W\\Vert_2 \\approx {facts['w_norm']:.2g}$" in h.text
    assert f"about $10^{{{round(np.log10(facts['end']))}}}$" in h.text


def test_chinese_figures_are_labelled_in_chinese():
    from quiz.handout_figures import cjk_font
    if not cjk_font() or not shutil.which("pdftotext"):
        pytest.skip("needs the Noto CJK font and pdftotext")
    h = build(["rnn"], "zh", "tex", n_exercises=0)
    text = subprocess.run(["pdftotext", "-", "-"], input=h.files["flow-rnn.pdf"], capture_output=True).stdout.decode()
    assert "梯度往回传的步数" in text and "增益" in text
    text = subprocess.run(["pdftotext", "-", "-"], input=h.files["act-rnn.pdf"], capture_output=True).stdout.decode()
    assert "激活前的输入" in text and "本单元未用" in text


def test_html_is_one_offline_file_with_katex_and_inline_figures():
    h = build(["rnn"], "zh", "html", n_exercises=2)
    assert h.text.count("data:image/png;base64,") == 2 and "font/woff2;base64," in h.text
    assert "https://" not in h.text and "http://" not in h.text.replace("http://www.w3.org", "")
    assert '<span class="math inline">' in h.text and '<div class="math block">' in h.text
    assert h.text == build(["rnn"], "zh", "html", n_exercises=2).text


# ---------------------------------------------------------------------------- the command and bad input


def _run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "derive.cli", *args], capture_output=True, text=True, env=env)


def _one_line(p):
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("bptt: error:") and p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
    return p.stderr


def test_bad_input_is_one_line_and_leaves_nothing(tmp_path):
    assert "lstmm" in _one_line(_run("handout", "lstmm", "--format", "tex", "-o", str(tmp_path / "h.tex")))
    assert "docx" in _one_line(_run("handout", "rnn", "--format", "docx", "-o", str(tmp_path / "h.docx")))
    assert "does not exist" in _one_line(_run("handout", "rnn", "--format", "md", "-o", str(tmp_path / "no" / "h.md")))
    (tmp_path / "adir").mkdir()
    assert "is a folder" in _one_line(_run("handout", "rnn", "--format", "md", "-o", str(tmp_path / "adir")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"] and not any((tmp_path / "adir").iterdir())


def test_unwritable_folder_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    from derive.cli import main
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as root, chmod alone would not stop us
    with pytest.raises(SystemExit) as exc:
        main(["handout", "rnn", "--format", "md", "-o", str(tmp_path / "h.md")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("bptt: error: cannot write") and "not writable" in err
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_md_and_tex_write_their_figures_next_to_the_file(tmp_path):
    r = CliRunner().invoke(cli, ["handout", "rnn", "--format", "md", "--exercises", "1", "-o", str(tmp_path / "my notes.md")])
    assert r.exit_code == 0, r.output
    assert sorted(os.listdir(tmp_path / "my_notes_figures")) == ["act-rnn.png", "flow-rnn.png"]
    assert "](my_notes_figures/flow-rnn.png)" in (tmp_path / "my notes.md").read_text(encoding="utf-8")
    r = CliRunner().invoke(cli, ["handout", "rnn", "--format", "tex", "--exercises", "1", "-o", str(tmp_path / "h.tex")])
    assert r.exit_code == 0 and sorted(os.listdir(tmp_path / "h_figures")) == ["act-rnn.pdf", "flow-rnn.pdf"]
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


def test_missing_tex_names_the_packages_and_tex_still_works(tmp_path):
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))
    p = _run("handout", "rnn", "--exercises", "1", "-o", str(tmp_path / "h.pdf"), env=env)
    err = _one_line(p)
    assert "texlive-xetex texlive-lang-chinese" in err and "fonts-noto-cjk latexmk" in err and "--format tex" in err
    assert list(tmp_path.iterdir()) == []
    p = _run("handout", "rnn", "--exercises", "1", "--format", "tex", "-o", str(tmp_path / "h.tex"), env=env)
    assert p.returncode == 0 and (tmp_path / "h.tex").exists() and (tmp_path / "h_figures" / "flow-rnn.pdf").exists()


# ---------------------------------------------------------------------------- PDF (xelatex)


@needs_tex
def test_pdf_latex_failure_shows_first_error_and_keeps_the_source(tmp_path):
    from derive.errors import BpttError
    from quiz.latex import compile_pdf
    doc = "\\documentclass{article}\\begin{document}\\input{parts/a.tex}\\nosuchmacro\\end{document}\n"
    with pytest.raises(BpttError, match=r"^LaTeX failed: ! Undefined control sequence\. l\.1 .*\\nosuchmacro; .*kept in .*broken\.tex$"):
        compile_pdf(doc, tmp_path / "broken.pdf", {"parts/a.tex": b"Hello"})
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["broken.tex", "parts", "parts/a.tex"]
    assert (tmp_path / "broken.tex").read_text() == doc


@needs_tex
def test_pdf_is_byte_identical_for_the_same_seed(tmp_path):
    for name in ("a.pdf", "b.pdf"):
        assert _run("handout", "rnn", "--exercises", "2", "-o", str(tmp_path / name)).returncode == 0
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.pdf", "b.pdf"]


@needs_tex
@pytest.mark.parametrize("lang, words", [
    ("en", ["Backpropagation through time: RNN, LSTM, GRU", "Elman RNN (tanh)", "LSTM (with forget gate)",
            "GRU (PyTorch convention)", "GRU conventions side by side", "Unrolled example", "Forward mode (real-time recurrent learning)",
            "Numerical check", "Activation slopes", "Gradient flow", "Exercises", "Answer key",
            "T − k: how many steps the gradient travels back", "pre-activation x"]),
    ("zh", ["循环神经网络的反向传播", "Elman RNN（tanh 激活）", "LSTM（带遗忘门）", "GRU（PyTorch 的约定）",
            "GRU 的几种约定对照", "数值验证", "激活函数的导数", "梯度流", "练习", "参考答案",
            "梯度往回传的步数", "激活前的输入"]),
])
def test_pdf_three_cells_compile_and_read_back(tmp_path, lang, words):
    out = tmp_path / f"handout_{lang}.pdf"
    p = _run("handout", "rnn", "lstm", "gru", "--lang", lang, "-o", str(out))
    assert p.returncode == 0, p.stderr
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    missing = [w for w in words if w not in text]
    assert not missing
    ok = "通过" if lang == "zh" else "ok"
    assert len(re.findall(rf"^{ok}$", text, flags=re.M)) == 4 + 16 + 11  # every check row passed
    pages = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
    assert 15 < int(pages.split("Pages:")[1].split()[0]) < 40
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
    assert ("NotoSerifCJK" in fonts) == (lang == "zh")


# ---------------------------------------------------------------------------- HTML in a real browser


@pytest.mark.skipif(not CHROMIUM, reason="needs chromium")
def test_chromium_typesets_the_html_offline(tmp_path):
    out = tmp_path / "h.html"
    r = CliRunner().invoke(cli, ["handout", "gru", "--lang", "zh", "--format", "html", "--exercises", "3", "-o", str(out)])
    assert r.exit_code == 0, r.output
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,2000", out.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert dom.count('class="katex"') > 50 and 'class="katex-error"' not in dom
    assert dom.count('class="katex-display"') > 10
    visible = _visible_text(dom)
    assert "GRU 的几种约定对照" in visible and "梯度流" in visible
    assert "$" not in visible and "\\frac" not in visible and "\\odot" not in visible and "\\partial" not in visible


def _visible_text(dom: str) -> str:
    """Text outside KaTeX's MathML copies (annotation elements hold the TeX source on purpose)."""
    dom = re.sub(r"<script.*?</script>|<style.*?</style>|<annotation.*?</annotation>", "", dom, flags=re.S)
    return re.sub(r"<[^>]+>", " ", dom)
