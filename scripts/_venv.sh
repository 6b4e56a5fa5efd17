# Shared by scripts/demo and scripts/test: make the venv (once) with the project's Python.
# PYTHON picks the interpreter (default python3); AUDIOGUIDE_VENV picks the venv folder
# (default .venv, relative to the repository), so each Python can have its own.
set -euo pipefail
cd "$(dirname "$0")/.."
asked_for="${PYTHON:-}"
PYTHON="${PYTHON:-python3}"
VENV="${AUDIOGUIDE_VENV:-.venv}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "audioguide needs Python 3.10 or newer; set PYTHON=/path/to/python3.x" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# A venv keeps the Python it was made with: when PYTHON names another, say so rather
# than quietly test the old one.
if [ -n "$asked_for" ]; then
  version='import sys; print("%d.%d" % sys.version_info[:2])'
  wanted="$("$PYTHON" -c "$version")"
  have="$("$VENV/bin/python" -c "$version")"
  if [ "$wanted" != "$have" ]; then
    echo "$VENV was made with Python $have, not $wanted ($PYTHON); remove it, or set" \
         "AUDIOGUIDE_VENV=/another/folder to keep both" >&2
    exit 1
  fi
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null
