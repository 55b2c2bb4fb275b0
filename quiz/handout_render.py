"""Jinja rendering of the handout templates, and the offline HTML (KaTeX and figures inlined)."""
from __future__ import annotations

import functools
import re
from importlib import resources

TEMPLATE = {"tex": "handout.tex.j2", "pdf": "handout.tex.j2", "md": "handout.md.j2", "html": "handout.html.j2"}


def _source(name: str) -> str:
    return resources.files("templates").joinpath(name).read_text(encoding="utf-8")


def tex_env():
    """Jinja with LaTeX-friendly delimiters: \\BLOCK{...}, \\VAR{...}, \\#{...}."""
    import jinja2
    return jinja2.Environment(block_start_string=r"\BLOCK{", block_end_string="}", variable_start_string=r"\VAR{",
                              variable_end_string="}", comment_start_string=r"\#{", comment_end_string="}",
                              trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def text_env():
    import jinja2
    return jinja2.Environment(trim_blocks=True, lstrip_blocks=True, autoescape=False, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined)


def render_template(fmt: str, ctx: dict, files: dict) -> str:
    """The main document for ``fmt`` from the template and precomputed context."""
    if fmt == "html":
        cells = [dict(c, body=md_to_html(c["body"]), check=md_to_html(c["check"])) for c in ctx["cells"]]
        ctx = dict(ctx, cells=cells, **_html_assets(files))
    env = tex_env() if fmt in ("tex", "pdf") else text_env()
    return env.from_string(_source(TEMPLATE[fmt])).render(**ctx)


@functools.lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    return MarkdownIt("commonmark", {"html": False}).enable("table").use(dollarmath_plugin, double_inline=True)


def md_to_html(text: str) -> str:
    """Markdown with $ and $$ maths to HTML; maths stays TeX inside span/div.math for KaTeX."""
    return _markdown().render(text)


@functools.lru_cache(maxsize=1)
def katex_css() -> str:
    """KaTeX's stylesheet with its woff2 fonts as data: URLs (other formats dropped)."""
    from .handout import data_url
    base = resources.files("templates").joinpath("katex")
    css = base.joinpath("katex.min.css").read_text(encoding="utf-8")
    css = re.sub(r",\s*url\(fonts/[^)]+\.(?:woff|ttf)\)\s*format\(\"[a-z]+\"\)", "", css)
    fonts = base.joinpath("fonts")
    return re.sub(r"url\(fonts/([^)]+\.woff2)\)",
                  lambda m: f"url({data_url(m.group(1), fonts.joinpath(m.group(1)).read_bytes())})", css)


def _html_assets(files: dict) -> dict:
    from .handout import data_url
    base = resources.files("templates").joinpath("katex")
    return {"katex_css": katex_css(), "katex_js": base.joinpath("katex.min.js").read_text(encoding="utf-8"),
            "autorender_js": base.joinpath("auto-render.min.js").read_text(encoding="utf-8"),
            "images": {name: data_url(name, data) for name, data in files.items()}}
