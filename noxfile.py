"""The Django x Python matrix, lint and type checks.

    nox -l                                    # list the sessions
    nox -s "tests(py3.13-django6.1)"          # one combination
    nox -t tests                              # the whole matrix
    nox -s lint typecheck

``DATABASE_URL`` and ``SESSIONTOKENS_TEST_REDIS_URL`` pass through to the
tests, as do any arguments after ``--`` (to pytest).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nox

nox.options.sessions = ["tests(py3.13-django6.1)", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

#: Each Django series with the Python versions it supports (and we test).
MATRIX: dict[str, list[str]] = {
    "4.2": ["3.10", "3.11", "3.12"],
    "5.2": ["3.10", "3.11", "3.12", "3.13"],
    "6.0": ["3.12", "3.13"],
    "6.1": ["3.12", "3.13"],
}
NEWEST_PYTHON = "3.13"


def _expose_pyenv_versions() -> None:
    """pyenv's shims only run the versions pyenv has selected: select every
    installed 3.10-3.13 so ``python3.X`` resolves (unless PYENV_VERSION is set)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if "PYENV_VERSION" in os.environ or not (root / "versions").is_dir():
        return
    newest: dict[str, tuple[int, str]] = {}
    for entry in (root / "versions").iterdir():
        match = re.fullmatch(r"3\.(1[0-3])\.(\d+)", entry.name)
        if match:
            minor, patch = f"3.{match[1]}", int(match[2])
            if minor not in newest or newest[minor][0] < patch:
                newest[minor] = (patch, entry.name)
    if newest:
        os.environ["PYENV_VERSION"] = ":".join(
            name for _, (_, name) in sorted(newest.items(), reverse=True)
        )


_expose_pyenv_versions()


@nox.session(tags=["tests"])
@nox.parametrize(
    ("python", "django"),
    [
        nox.param(python, django, id=f"py{python}-django{django}")
        for django, pythons in MATRIX.items()
        for python in pythons
    ],
)
def tests(session: nox.Session, django: str) -> None:
    """The test suite on one Django series and one Python version."""
    session.install("-e", ".[test]", f"django~={django}.0")
    session.run("python", "-m", "django", "--version")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=NEWEST_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=NEWEST_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy strict with django-stubs, on the package."""
    session.install("-e", ".[test]", "mypy", "django-stubs")
    session.run("mypy")
