# Sourced by demo.sh and test.sh: make .venv (with $PYTHON, default python3)
# and install the project with its development extras, only when .venv is new
# or pyproject.toml changed since the last install. So running one script does
# not reinstall the package under the other's running server (which would
# restart it).
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
_stamp="$VENV/.sessiontokens-installed"
_want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$_stamp" 2>/dev/null)" != "$_want" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
    echo "$_want" > "$_stamp"
fi
