#!/usr/bin/env bash
# One command to install what the tests need and run every test.
#   bash tests/run_all.sh [pytest args...]
# Works from any directory. As root it apt-installs the TeX toolchain if
# missing; otherwise it says what to install and TeX tests skip.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

PY="${PYTHON:-python}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

# Debian packages for `latexmk -xelatex` with xeCJK + Noto CJK, pdftotext/pdftoppm/pdfseparate,
# and Chromium (the HTML handout is screenshotted headless in a test).
# texlive-xetex already pulls texlive-latex-base/-recommended/-extra (amsmath,
# geometry, hyperref, booktabs, xcolor, fontspec, unicode-math) and fonts-lmodern;
# texlive-fonts-recommended is needed for hyperref under xelatex (pzdr.tfm).
APT_PKGS=(texlive-xetex texlive-fonts-recommended texlive-lang-chinese
          fonts-noto-cjk latexmk poppler-utils fontconfig chromium)

tex_missing() {
    local c
    for c in xelatex latexmk pdftotext pdftoppm pdfseparate fc-list chromium; do
        command -v "$c" >/dev/null 2>&1 || return 0
    done
    if command -v dpkg-query >/dev/null 2>&1; then
        local p
        for p in "${APT_PKGS[@]}"; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || return 0
        done
    fi
    return 1
}

if tex_missing; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "run_all.sh: installing TeX toolchain: ${APT_PKGS[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${APT_PKGS[@]}" >/dev/null
    else
        echo "run_all.sh: TeX toolchain missing (TeX tests will skip); install with: sudo apt-get install --no-install-recommends ${APT_PKGS[*]}"
    fi
fi

echo "run_all.sh: pip install -e '.[test]'"
"$PY" -m pip install -q -e '.[test]'

if ! "$PY" -c 'import torch' >/dev/null 2>&1; then
    # Exact pin: a local CPU wheel. Never plain `torch` (multi-GB CUDA download).
    echo "run_all.sh: pip install torch==2.13.0"
    if ! "$PY" -m pip install -q torch==2.13.0; then
        echo "run_all.sh: WARNING: torch==2.13.0 install failed; torch tests will skip"
    fi
fi

rc=0
"$PY" -m pytest -q "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    echo "run_all.sh: ERROR: pytest collected no tests (exit 5)" >&2
    exit 1
fi
exit "$rc"
