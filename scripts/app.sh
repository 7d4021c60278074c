#!/usr/bin/env bash
# Starts the dashboard and opens it in the default browser once it answers.
# Streamlit runs headless (no first-run e-mail prompt, no browser launch of its own); we open the page
# ourselves when there is a screen to open it on, and print the address either way.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${SELENE_EVAL_PORT:-8501}"
.venv/bin/streamlit run app.py --server.port "$port" "$@" &
server=$!
trap 'kill "$server" 2>/dev/null || true' INT TERM EXIT
url="http://localhost:$port"
for _ in $(seq 1 120); do
  if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" \
      "$url/_stcore/health" 2>/dev/null; then
    echo "selene-eval is running at $url (Ctrl-C stops it)." >&2
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "$(uname)" = Darwin ]; then
      .venv/bin/python -m webbrowser -t "$url" >/dev/null 2>&1 || true
    fi
    break
  fi
  kill -0 "$server" 2>/dev/null || break
  sleep 0.5
done
wait "$server"
