#!/usr/bin/env bash
# The whole test suite. Creates .venv (with python3 unless PYTHON is set),
# installs the project with its test extras (once, and again only when
# pyproject.toml changes), then runs pytest.
# Extra arguments go to pytest, e.g.: bash scripts/test.sh -k redis -x
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
exec "$VENV/bin/python" -m pytest "$@"
