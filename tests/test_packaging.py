"""The built wheel works on its own: installed into a fresh virtualenv, the
example project runs ``check``, ``migrate`` and its pages against it, so a
template, static file, translation or migration missing from the wheel fails
here. The sdist carries the license, the tests and the example project.

``SESSIONTOKENS_DIST`` names a folder that already holds the wheel and the
sdist (CI builds them once with ``python -m build``); otherwise they are
built into a temporary folder.
"""

import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import django_sessiontokens
from tests.test_example_project import BROWSE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
VERSION = django_sessiontokens.__version__
#: What the wheel must carry besides Python modules.
DATA = [
    "django_sessiontokens/py.typed",
    "django_sessiontokens/templates/sessiontokens/base.html",
    "django_sessiontokens/templates/sessiontokens/sessions.html",
    "django_sessiontokens/templates/admin/sessiontokens/session_list.html",
    "django_sessiontokens/static/sessiontokens/sessiontokens.css",
    "django_sessiontokens/static/sessiontokens/admin/session_list.css",
    "django_sessiontokens/migrations/0001_initial.py",
    *(
        f"django_sessiontokens/locale/{lang}/LC_MESSAGES/django.{ext}"
        for lang in ("de", "fr", "es")
        for ext in ("po", "mo")
    ),
]
#: Checks run by the installed package's own interpreter.
INSTALLED = """
import django_sessiontokens, pathlib, sys
from django.contrib.staticfiles import finders
from django.template.loader import get_template
from django.utils import translation
here = pathlib.Path(django_sessiontokens.__file__).resolve()
assert "site-packages" in here.parts, here
for name in ("sessiontokens/sessions.html", "sessiontokens/503.html",
             "admin/sessiontokens/session_list.html"):
    get_template(name)
for name in ("sessiontokens/sessiontokens.css",
             "sessiontokens/admin/session_list.css"):
    assert finders.find(name), name
expected = {"de": "Ihre Sitzungen", "fr": "Vos sessions", "es": "Tus sesiones"}
for lang, text in expected.items():
    with translation.override(lang):
        assert translation.gettext("Your sessions") == text, lang
print("installed", here.parent)
"""


def _clean_env(**extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV"}
    }
    env.update(extra)
    return env


def run(*command, cwd=None, env=None, timeout=600):
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env or _clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    given = os.environ.get("SESSIONTOKENS_DIST")
    folder = Path(given) if given else tmp_path_factory.mktemp("dist")
    wheels = sorted(folder.glob(f"django_sessiontokens-{VERSION}-*.whl"))
    sdists = sorted(folder.glob(f"django_sessiontokens-{VERSION}.tar.gz"))
    if not (wheels and sdists):
        run(sys.executable, "-m", "build", "--outdir", folder, ROOT, cwd=ROOT)
        wheels = sorted(folder.glob(f"django_sessiontokens-{VERSION}-*.whl"))
        sdists = sorted(folder.glob(f"django_sessiontokens-{VERSION}.tar.gz"))
    return wheels[-1], sdists[-1]


def test_the_wheel_carries_data_and_license(dist):
    wheel, _ = dist
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = [name for name in DATA if name not in names]
    assert missing == []
    info = f"django_sessiontokens-{VERSION}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    assert not any(name.startswith(("tests/", "example_project/")) for name in names)


def test_the_sdist_carries_what_its_tests_need(dist):
    _, sdist = dist
    top = f"django_sessiontokens-{VERSION}"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
    for name in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        "noxfile.py",
        "mkdocs.yml",
        "docs/index.md",
        "docs/reference/settings.md",
        "tests/conftest.py",
        "tests/settings.py",
        "tests/test_docs.py",
        "example_project/manage.py",
        "example_project/templates/sessiontokens/base.html",
        "example_project/demo/static/demo/home.css",
        "scripts/test.sh",
        *DATA,
    ):
        assert f"{top}/{name}" in names, name


def test_the_wheel_runs_the_example_project(dist, tmp_path):
    wheel, _ = dist
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    # The wheel and its runtime dependencies, as pip finds them here, with
    # the "dbsc" extra: the example project has device-bound sessions on.
    run(
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        f"{wheel}[dbsc]",
    )
    # A copy of the example project, far from the source tree.
    project = tmp_path / "example_project"
    shutil.copytree(
        ROOT / "example_project",
        project,
        ignore=shutil.ignore_patterns("db.sqlite3", "__pycache__"),
    )
    env = _clean_env(
        EXAMPLE_DATABASE=str(tmp_path / "example.sqlite3"),
        SESSION_ENGINE_NAME="db",
        PYTHONWARNINGS="error::DeprecationWarning",
    )

    def manage(*args):
        return run(python, "manage.py", *args, cwd=project, env=env)

    assert "System check identified no issues" in manage("check").stdout
    manage("migrate", "--no-input")
    manage("makemigrations", "--check", "--dry-run", "sessiontokens")
    manage("createdemousers")
    installed = manage("shell", "-c", INSTALLED)
    assert str(env_dir) in installed.stdout
    assert manage("shell", "-c", BROWSE).stdout.strip().endswith("browsed")
