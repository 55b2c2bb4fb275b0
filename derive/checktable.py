"""The ``--check`` table appended to a rendered derivation (text, Markdown, LaTeX)."""
from __future__ import annotations

WORDS = {
    "en": {"title": "Numerical check", "quantity": "quantity", "kind": "kind", "err": "relative error",
           "ok": "ok", "bad": "FAILED", "jacobian": "Jacobian", "gradient": "gradient",
           "intro": ("Each derived formula evaluated at a random point (seed {seed}, n_x = 3, n_h = 4, T = 3) "
                     "against float64 central differences (step {eps:g}); relative error ‖a − b‖ / max(‖a‖, ‖b‖). "
                     "Tolerance {tol:g}: central differences are accurate to about 1e-10 here, so anything "
                     "above 1e-6 means a wrong formula, not rounding.")},
    "zh": {"title": "数值验证", "quantity": "量", "kind": "类型", "err": "相对误差", "ok": "通过", "bad": "失败",
           "jacobian": "雅可比矩阵", "gradient": "梯度",
           "intro": ("在一个随机点（种子 {seed}，n_x = 3，n_h = 4，T = 3）上计算每个推导出的公式，"
                     "并与 float64 中心差分（步长 {eps:g}）比较；相对误差为 ‖a − b‖ / max(‖a‖, ‖b‖)。"
                     "容差取 {tol:g}：中心差分在这里的精度约为 1e-10，超过 1e-6 只可能是公式错了，而不是舍入误差。")},
}


def _rows(check, lang):
    w = WORDS[lang]
    for r in check["rows"]:
        ok = w["ok"] if r["rel_err"] <= check["tolerance"] else w["bad"]
        yield r["quantity"], w[r["kind"]], f"{r['rel_err']:.1e}", ok


def table(check, fmt: str, lang: str) -> str:
    """The check rows as a table in ``fmt``; empty string for json (rows are in the options)."""
    if not check or fmt == "json":
        return ""
    w = WORDS[lang]
    intro = w["intro"].format(seed=check["seed"], tol=check["tolerance"], eps=check["eps"])
    head = (w["quantity"], w["kind"], w["err"], "")
    rows = list(_rows(check, lang))
    return {"text": _text, "markdown": _markdown, "latex": _latex}[fmt](w["title"], intro, head, rows)


def _text(title, intro, head, rows):
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    line = lambda r: "  " + "  ".join(c.ljust(n) for c, n in zip(r, widths)).rstrip()
    return "\n".join([title, "-" * len(title), intro, "", line(head), *map(line, rows)]) + "\n"


def _markdown(title, intro, head, rows):
    out = [f"## {title}", "", intro, "", "| " + " | ".join(head) + " |", "|---|---|---:|---|"]
    out += ["| `" + r[0] + "` | " + " | ".join(r[1:]) + " |" for r in rows]
    return "\n".join(out) + "\n"


def _latex(title, intro, head, rows):
    esc = lambda s: s.replace("_", r"\_").replace("‖", r"$\|$").replace("−", "-")
    body = [r"\section*{%s}" % title, esc(intro), "", r"\begin{center}\begin{tabular}{llrl}",
            " & ".join(head) + r" \\ \hline"]
    body += [r"\texttt{%s} & %s & %s & %s \\" % (esc(r[0]), r[1], r[2], r[3]) for r in rows]
    return "\n".join(body + [r"\end{tabular}\end{center}"]) + "\n"
