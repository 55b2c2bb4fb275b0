"""Rendering derivations: golden lines, both languages, stable JSON, and real xelatex builds."""
import functools
import json
import re
import shutil
import subprocess

import pytest

from derive.api import derive_cell, load
from derive.errors import BpttError
from derive.phrases import LANGS, SHORT, TITLES, WHY, conventions, tex_to_text
from derive.render import WIDTH, render, tex_escape
from derive.textprint import text_width

CELLS = ("rnn", "lstm", "gru", "gru:cho", "lstm-peephole", "rnn:relu")


@functools.lru_cache(maxsize=None)
def derived(name):
    return derive_cell(load(name), truncate=4, scalar_case=True)


def test_rnn_markdown_key_lines():
    md = render(derived("rnn"), "markdown", "en")
    local = "\\frac{\\partial h_{t}}{\\partial h_{t-1}} = \\operatorname{diag}(\\mathbf{1} - h_{t}^{\\odot 2}) W"
    assert f"$$\n{local}\n$$" in md
    assert "h_{t} &= \\tanh(U x_{t} + W h_{t-1} + b) \\\\\n" in md
    assert ("\\delta^{h}_{t-1} = \\frac{\\partial L_{t-1}}{\\partial h_{t-1}} + W^{\\top} "
            "(\\delta^{h}_{t} \\odot (\\mathbf{1} - h_{t}^{\\odot 2}))") in md
    assert ("\\frac{\\partial L}{\\partial W} &= \\sum_{t=1}^{T} (\\delta^{h}_{t} \\odot "
            "(\\mathbf{1} - h_{t}^{\\odot 2})) h_{t-1}^{\\top} \\\\") in md
    assert "*Why:* chain rule; $\\partial (W a)/\\partial a = W$; sum rule; $\\tanh' = 1 - \\tanh^2$" in md
    assert "## 2. Local Jacobians" in md and "## Conventions" in md


def test_rnn_text_key_lines():
    txt = render(derived("rnn"), "text", "en")
    assert "  h_t = tanh(U x_t + W h_{t-1} + b)\n" in txt
    assert "  ∂h_t/∂h_{t-1} = diag(1 − h_t ⊙ h_t) W\n" in txt
    assert "  ∂h_t/∂h_k = ∏_{j=k+1}^{t} (diag(1 − h_j ⊙ h_j) W)\n" in txt
    assert "  ‖∂h_t/∂h_k‖₂ ≤ ‖W‖₂^(t-k)\n" in txt
    assert "  ∂L/∂W = Σ_{t=1}^{T} (δ^h_t ⊙ (1 − h_t ⊙ h_t)) h_{t-1}ᵀ\n" in txt
    assert "▸ chain rule; ∂(W a)/∂a = W; sum rule; tanh′ = 1 − tanh²" in txt
    assert "\\" not in txt


def test_both_languages():
    d = derived("lstm")
    en, zh = render(d, "markdown", "en"), render(d, "markdown", "zh")
    assert "Local Jacobians" in en and "forget gates" in en and "局部" not in en
    assert "局部雅可比矩阵" in zh and "链式法则" in zh and "遗忘门" in zh and "哈达玛积" in zh
    assert "\\operatorname{diag}(f_{t})" in zh            # the gated cell path is named in the prose
    zh_text = render(derived("rnn"), "text", "zh")
    assert "梯度消失" in zh_text and "vanishing" not in zh_text


def test_lstm_block_matrix_names_its_blocks():
    md = render(derived("lstm"), "markdown", "en")
    assert ("\\frac{\\partial (h_{t}, c_{t})}{\\partial (h_{t-1}, c_{t-1})} = \\begin{bmatrix} "
            "\\partial h_{t}/\\partial h_{t-1} & \\partial h_{t}/\\partial c_{t-1} \\\\ "
            "\\partial c_{t}/\\partial h_{t-1} & \\operatorname{diag}(f_{t}) \\end{bmatrix}") in md


def test_long_formulas_break_into_rows():
    md = render(derived("lstm"), "markdown", "en")
    block = md[md.index("\\frac{\\mathrm{d} h_{t}}{\\mathrm{d} h_{t-1}} &= \\operatorname{diag}(o_{t})"):]
    block = block[:block.index("\\end{aligned}")]
    assert block.count("\\\\\n&\\quad") >= 1 and "\\bigl(" in block and "\\bigr)" in block
    for name in CELLS:
        lines = render(derived(name), "text", "en").splitlines()
        assert max(map(text_width, lines)) <= WIDTH["text"] + 6, name


@pytest.mark.parametrize("name", CELLS)
def test_json_valid_and_stable(name):
    d = derived(name)
    a, b = render(d, "json", "zh"), render(d, "json", "zh")
    assert a == b
    data = json.loads(a)
    assert a == json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2) + "\n"
    assert data["cell"] == d.cell.name and data["lang"] == "zh"
    keys = [s["key"] for s in data["sections"]]
    assert keys == [s.key for s in d.sections]
    step = data["sections"][1]["steps"][0]
    assert set(step) >= {"lhs", "rel", "rhs", "lhs_text", "rhs_text", "why", "justification"}
    assert all(st["justification"] or not st["why"] for s in data["sections"] for st in s["steps"])


def test_every_tag_has_a_phrase():
    tags = {t for name in CELLS for s in derived(name).sections for st in s.steps for t in st.why}
    keys = {s.key for name in CELLS for s in derived(name).sections}
    assert tags <= set(WHY), tags - set(WHY)
    assert keys <= set(TITLES)
    for pair in (*WHY.values(), *SHORT.values(), *TITLES.values()):
        assert len(pair) == len(LANGS) and all(pair)


def test_phrases_convert_to_plain_text():
    cell = load("lstm")
    markup = [p for pair in (*WHY.values(), *SHORT.values()) for p in pair]
    markup += [c for lang in LANGS for c in conventions(cell, lang)]
    for m in markup:
        assert "\\" not in tex_to_text(m), m
        assert m.count("$") % 2 == 0, m


def test_tex_escape_of_cell_notes():
    assert tex_escape("h~_t = z*h_{t-1}") == "h\\textasciitilde{}\\_t = z$\\ast$h\\_\\{t-1\\}"
    assert tex_escape("(1−z)⊙h̃_t, ȳ") == "(1$-$z)$\\odot$$\\tilde{h}$\\_t, $\\bar{y}$"


def test_no_timestamps_and_standalone_template():
    tex = render(derived("rnn"), "latex", "zh", standalone=True)
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert "\\date{}" in tex and "\\setCJKmainfont{Noto Serif CJK SC}" in tex
    assert "xeCJK" not in render(derived("rnn"), "latex", "en", standalone=True)
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b|\\today", tex)
    body = render(derived("rnn"), "latex", "en")
    assert "\\documentclass" not in body and "\\begin{align*}" in body


def test_bad_arguments():
    with pytest.raises(BpttError):
        render(derived("rnn"), "html", "en")
    with pytest.raises(BpttError):
        render(derived("rnn"), "text", "fr")


TEX_TOOLS = all(shutil.which(t) for t in ("xelatex", "latexmk", "pdftotext"))


@pytest.mark.skipif(not TEX_TOOLS, reason="xelatex, latexmk or pdftotext not installed")
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_standalone_compiles_with_xelatex(name, lang, tmp_path):
    tex = tmp_path / "derivation.tex"
    tex.write_text(render(derived(name), "latex", lang, standalone=True), encoding="utf-8")
    run = subprocess.run(["latexmk", "-xelatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    pdf = tmp_path / "derivation.pdf"
    assert run.returncode == 0 and pdf.exists(), run.stdout[-3000:]
    log = (tmp_path / "derivation.log").read_text(encoding="utf-8", errors="replace")
    assert "Overfull \\hbox" not in log                   # every formula fits the page width
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "BPTT" in words
    assert ("Jacobian" in words) if lang == "en" else ("雅可比" in words and "链式法则" in words)
