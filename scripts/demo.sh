#!/usr/bin/env bash
# Runs the example project on SQLite at http://localhost:8000/ with demo
# users (alice / bob, staff "admin"; password "demo-password-1").
# Set SESSION_ENGINE_NAME=redis or cached_db (and REDIS_URL) to try Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
PY="$(cd "$VENV" && pwd)/bin/python"
cd example_project
"$PY" manage.py migrate --no-input
"$PY" manage.py createdemousers
exec "$PY" manage.py runserver "${ADDRESS:-localhost:8000}"
