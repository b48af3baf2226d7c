#!/usr/bin/env bash
# Creates (or completes) .venv with the stack of ../shared/SPEC.md, then installs this
# package in editable mode. Idempotent: a stamp records the hash of every file that
# decides what gets installed, and a complete environment with a matching stamp is reused.
#
# mmcv 2.1.0 ships no wheel for this torch, so it is built from source with its compiled
# ops (mmpose.models and mmseg.models import mmcv.ops). That build takes about 8 minutes on
# 2 cores; its wheel is kept in a cache keyed by the torch version and the device (CPU or
# CUDA) it was built for, so it happens once per machine and a wheel built against
# another torch is never picked up. On a machine where torch sees CUDA (or FORCE_CUDA=1),
# the same command builds mmcv's CUDA ops.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
CONSTRAINTS=$ROOT/requirements/constraints.txt
CACHE=${LITEHRNET_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/litehrnet_mm}
STAMP=$VENV/.litehrnet_mm-installed
STEPS=8
START=$(date +%s)
CONVERTERS=${CONVERTERS_VENV:-$ROOT/.venv-converters}

step() { printf '\n[install %s/%s, %ss] %s\n' "$1" "$STEPS" "$(( $(date +%s) - START ))" "$2"; }

fingerprint() {
    cat "$CONSTRAINTS" "$ROOT"/requirements/*.txt "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}" \
        | sha256sum | cut -d' ' -f1
}

# `tools/install_env.sh --converters` (`make install-converters`): the
# ExecuTorch and LiteRT converters, in a venv of their own beside .venv
# (requirements/converters.txt says why). It sees .venv's packages through a
# .pth line placed after its own, so torch is not installed twice, and pip
# there never changes .venv (it leaves what lies outside its environment).
# Idempotent like .venv: its own stamp (the hash of what decides the
# install, and of .venv's stamp, since it builds on .venv's torch), reused
# when every pin of converters.txt is installed and the .pth line is there.
CONVERTERS_STAMP=$CONVERTERS/.litehrnet_mm-installed

converters_fingerprint() {
    { cat "$CONSTRAINTS" "$ROOT/requirements/converters.txt" "${BASH_SOURCE[0]}"
      cat "$STAMP" 2>/dev/null || true; echo "$VENV"; } | sha256sum | cut -d' ' -f1
}

converters_complete() {
    "$CONVERTERS/bin/python" - "$ROOT/requirements/converters.txt" "$VENV" <<'PY'
import importlib.metadata as metadata, os, subprocess, sys, sysconfig
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
for line in open(sys.argv[1]):
    line = line.split('#')[0].strip()
    if line:
        req = Requirement(line)
        assert req.specifier.contains(metadata.version(req.name), prereleases=True), req
base = subprocess.check_output([os.path.join(sys.argv[2], 'bin', 'python'), '-c',
    'import sysconfig; print(sysconfig.get_paths()["purelib"])'], text=True)
pth = os.path.join(sysconfig.get_paths()['purelib'], '_litehrnet_mm_base.pth')
assert open(pth).read() == base, pth
PY
}

if [[ ${1:-} == --converters ]]; then
    [[ -x $VENV/bin/python ]] || { echo "[install] $VENV missing: run make install first" >&2; exit 1; }
    if [[ -f $CONVERTERS_STAMP && -f $STAMP && $(cat "$CONVERTERS_STAMP") == "$(converters_fingerprint)" ]] \
            && converters_complete 2>/dev/null; then
        echo "[install] $CONVERTERS is complete and up to date; nothing to do."
        exit 0
    fi
    rm -f "$CONVERTERS_STAMP"
    echo "[install] converters venv at $CONVERTERS (numpy 2, executorch, litert-torch; about 2 GB)"
    [[ -x $CONVERTERS/bin/python ]] || "$VENV/bin/python" -m venv "$CONVERTERS"
    "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
        > "$("$CONVERTERS/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/_litehrnet_mm_base.pth"
    # The stack's pins, less numpy's and opencv's (numpy 2 here).
    grep -v -E '^(numpy|opencv)' "$CONSTRAINTS" > "$CONVERTERS/constraints.txt"
    "$CONVERTERS/bin/python" -m pip install -q --progress-bar off -c "$CONVERTERS/constraints.txt" \
        -r "$ROOT/requirements/converters.txt"
    "$CONVERTERS/bin/python" -c 'import torch, executorch.exir, litert_torch; print("converters OK: torch", torch.__version__)'
    converters_fingerprint > "$CONVERTERS_STAMP"
    echo "[install] converters done in $(( $(date +%s) - START ))s"
    exit 0
fi

if [[ -f $STAMP && $(cat "$STAMP") == "$(fingerprint)" ]] \
        && "$VENV/bin/python" -c 'import mmcv.ops, mmpose.models, mmseg.models, litehrnet_mm' 2>/dev/null; then
    echo "[install] .venv is complete and up to date; nothing to do."
    exit 0
fi
rm -f "$STAMP"

step 1 "virtual environment at $VENV"
[[ -x $VENV/bin/python ]] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --progress-bar off -c "$CONSTRAINTS")
"${PIP[@]}" -q --upgrade pip
"${PIP[@]}" -q 'setuptools<82' wheel ninja

step 2 "torch and torchvision (a CUDA build of torch: several GB, a few minutes)"
"${PIP[@]}" torch torchvision | grep -v '^Requirement already satisfied' || true

step 3 "runtime dependencies of the host toolkits"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt" | grep -v '^Requirement already satisfied' || true

step 4 "mmcv 2.1.0 with its compiled ops"
KEY=$("$VENV/bin/python" - <<'PY'
import os, sys, torch
cuda = torch.cuda.is_available() or os.environ.get('FORCE_CUDA') == '1'
device = f'cuda{torch.version.cuda}' if cuda and torch.version.cuda else 'cpu'
print(f'torch{torch.__version__}-{device}-cp{sys.version_info[0]}{sys.version_info[1]}')
PY
)
WHEELS=$CACHE/mmcv-2.1.0/$KEY
if ! compgen -G "$WHEELS/mmcv-2.1.0-*.whl" >/dev/null; then
    echo "No mmcv wheel cached for $KEY: building one (about 8 minutes on 2 cores)."
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    # A line every minute, so a long silent build does not look hung.
    ( while sleep 60; do echo "  ... still compiling mmcv ops ($(( $(date +%s) - START ))s)"; done ) &
    TICKER=$!
    "$VENV/bin/python" -m pip download -q --no-deps --no-binary :all: \
        --no-build-isolation -d "$BUILD" mmcv==2.1.0
    tar xzf "$BUILD"/mmcv-2.1.0.tar.gz -C "$BUILD"
    # mmcv 2.1.0 compiles with -std=c++14/17; the headers of torch 2.14
    # require C++20.
    sed -i 's/-std=c++1[47]/-std=c++20/g' "$BUILD/mmcv-2.1.0/setup.py"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} "$VENV/bin/python" -m pip wheel \
        --no-build-isolation --no-deps -c "$CONSTRAINTS" \
        -w "$BUILD" "$BUILD/mmcv-2.1.0" || { kill $TICKER; exit 1; }
    kill $TICKER
    mkdir -p "$WHEELS"
    mv "$BUILD"/mmcv-2.1.0-*.whl "$WHEELS/"
    echo "Cached $(ls "$WHEELS") under $WHEELS"
else
    echo "Reusing the mmcv wheel cached for $KEY."
fi
"${PIP[@]}" -q --no-deps --force-reinstall "$WHEELS"/mmcv-2.1.0-*.whl
"${PIP[@]}" -q mmcv==2.1.0 mmengine

step 5 "mmpose, mmdet, mmsegmentation, openmim (without their broken dependency trees)"
"${PIP[@]}" -q --no-deps mmpose mmdet mmsegmentation openmim

step 6 "phone runtimes: ncnn and pnnx, LiteRT (their heavy converters: make install-converters)"
"${PIP[@]}" -q -r "$ROOT/requirements/phone.txt"
"${PIP[@]}" -q --no-deps -r "$ROOT/requirements/phone-nodeps.txt"

step 7 "test and lint tools"
"${PIP[@]}" -q -r "$ROOT/requirements/tests.txt"

step 8 "litehrnet_mm (editable)"
"${PIP[@]}" -q --no-deps --no-build-isolation -e "$ROOT"
"$VENV/bin/python" -c 'import mmcv.ops, mmpose.models, mmseg.models, litehrnet_mm; print("imports OK: mmcv.ops, mmpose.models, mmseg.models, litehrnet_mm")'

fingerprint > "$STAMP"
echo "[install] done in $(( $(date +%s) - START ))s"
