"""German, French and Spanish: complete catalogs, compiled, in step with the
source, and the pages, the API errors and the admin list render with no
English left in what this app says."""

import gettext
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.utils import translation

import django_sessiontokens
from tests.conftest import _require, sign_in
from tests.factories import StaffFactory, UserFactory

PACKAGE = Path(django_sessiontokens.__file__).parent
LOCALE = PACKAGE / "locale"
LANGUAGES = ["de", "fr", "es"]
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
)


def _unquote(text):
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def catalog(language):
    """The ``.po`` file's entries: dicts with msgid, msgid_plural, msgstr
    (a list of forms) and the flags."""
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text("utf-8")
    entries = []
    for block in text.strip().split("\n\n"):
        entry = {"flags": set(), "msgstr": []}
        field = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}
                continue
            if line.startswith("#"):
                continue
            match = re.match(r'(msgid_plural|msgid|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if match:
                field, value = match[1], _unquote(match[2])
                if field.startswith("msgstr"):
                    entry["msgstr"].append(value)
                else:
                    entry[field] = value
            elif field.startswith("msgstr"):
                entry["msgstr"][-1] += _unquote(line[1:-1])
            else:
                entry[field] += _unquote(line[1:-1])
        entries.append(entry)
    header, *messages = entries
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"], f"{language}: the header is fuzzy"
    return messages


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_compiled(language):
    messages = catalog(language)
    assert len(messages) > 100
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for entry in messages:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        assert all(entry["msgstr"]), f"{language}: untranslated {entry['msgid']!r}"
        placeholders = set(re.findall(r"%\(\w+\)[sd]", entry["msgid"]))
        for form in entry["msgstr"]:
            assert set(re.findall(r"%\(\w+\)[sd]", form)) == placeholders, form
        if "msgid_plural" in entry:
            assert (
                compiled.ngettext(entry["msgid"], entry["msgid_plural"], 1)
                == (entry["msgstr"][0])
            )
        else:
            # The .mo is compiled from this .po (compilemessages was run).
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0]


def test_the_catalogs_hold_every_marked_string(tmp_path):
    """makemessages on a copy of the package finds no message the shipped
    catalogs lack (and none they hold that the source no longer has)."""
    if not shutil.which("xgettext"):
        _require("GNU gettext (xgettext) is not installed: apt-get install gettext")
    copy = tmp_path / "django_sessiontokens"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("*.mo"))
    command = [
        sys.executable,
        "-m",
        "django",
        "makemessages",
        "-l",
        "de",
        "--ignore",
        "migrations/*",
        "--no-obsolete",
        "--no-location",
    ]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    fresh = catalog_of(copy / "locale" / "de" / "LC_MESSAGES" / "django.po")
    shipped = {entry["msgid"] for entry in catalog("de")}
    assert fresh == shipped


def catalog_of(path):
    text = path.read_text("utf-8")
    ids = set()
    for block in text.strip().split("\n\n")[1:]:
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        joined = ""
        inside = False
        for line in lines:
            if line.startswith("msgid "):
                inside, joined = True, _unquote(line[7:-1])
            elif line.startswith(("msgid_plural", "msgstr")):
                inside = False
            elif inside:
                joined += _unquote(line[1:-1])
        ids.add(joined)
    return ids


#: Attributes whose values a person reads (or a screen reader says).
READ_ATTRIBUTES = r'(?:title|aria-label|alt|placeholder|value)="([^"]*)"'


def shown(page):
    """The text of ``page`` a person reads: the body without its markup,
    plus the ``<title>`` and the values of the attributes that are read."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    attributes = " | ".join(re.findall(READ_ATTRIBUTES, page))
    text = re.sub(r"<[^>]+>", " | ", page)
    return html.unescape(re.sub(r"\s+", " ", f"{text} | {attributes}"))


def english_left(page, language):
    """English fragments of our catalog's messages found in ``page``: each
    message whose translation differs, split at its placeholders, words of
    the fragments of 8 characters or more looked up as whole phrases."""
    text = shown(page)
    found = []
    for entry in catalog(language):
        if entry["msgstr"][0] == entry["msgid"]:
            continue
        for fragment in re.split(r"%\(\w+\)[sd]|\n", entry["msgid"]):
            fragment = fragment.strip(" .:“”?")
            pattern = rf"(?<![\w-]){re.escape(fragment)}(?![\w-])"
            if (
                len(fragment) >= 8
                and fragment not in entry["msgstr"][0]
                and re.search(pattern, text)
            ):
                found.append(fragment)
    return found


@pytest.fixture(params=LANGUAGES)
def language(request, settings):
    settings.LANGUAGE_CODE = request.param
    with translation.override(request.param):
        yield request.param


def test_your_sessions_page(db, language):
    user = UserFactory(username="alice")
    client = sign_in(user, user_agent=FIREFOX)
    sign_in(user, user_agent=IPHONE)
    page = client.get("/sessions/").content.decode()
    assert f'<html lang="{language}">' in page
    assert english_left(page, language) == []
    for english in ("Your sessions", "Sign out", "This device", "Last active"):
        assert english not in page
    expected = {"de": "Ihre Sitzungen", "fr": "Vos sessions", "es": "Tus sesiones"}
    assert expected[language] in page

    # The message after signing a session out, and the GET explanation page.
    other = [row for row in client.get("/sessions/api/").json()["sessions"]]
    target = next(row["id"] for row in other if not row["current"])
    page = client.post(f"/sessions/{target}/end/", follow=True).content.decode()
    assert english_left(page, language) == []
    assert "That session was signed out." not in page
    page = client.get("/sessions/end-others/").content.decode()
    assert english_left(page, language) == []


def test_api_errors(db, language):
    anonymous = sign_in(UserFactory()).__class__()
    user = UserFactory()
    client = sign_in(user)
    answers = [
        anonymous.get("/sessions/api/"),  # 401
        client.get("/sessions/api/not-an-id/"),  # 400
        client.get("/sessions/api/" + "A" * 24 + "/"),  # 404
        client.post("/sessions/api/"),  # 405
    ]
    csrf_client = sign_in(user, csrf=True)
    answers.append(csrf_client.post("/sessions/api/end-others/"))  # 403
    assert [a.status_code for a in answers] == [401, 400, 404, 405, 403]
    english = [
        "Authentication required.",
        "Malformed session id.",
        "No such session.",
        "Method not allowed.",
        "CSRF verification failed: send the CSRF token in the X-CSRFToken header.",
    ]
    for answer, message in zip(answers, english, strict=True):
        error = answer.json()["error"]
        assert error == translation.gettext(message)
        assert error != message


def test_admin_session_list(db, language):
    staff = StaffFactory(username="support")
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="sessiontokens",
            codename__in=["view_session", "end_session"],
        )
    )
    sign_in(UserFactory(username="alice"), user_agent=IPHONE)
    client = sign_in(staff, user_agent=FIREFOX)
    page = client.get("/admin/sessiontokens/session/").content.decode()
    assert english_left(page, language) == []
    for english in ("End selected sessions", "Last activity", "this session"):
        assert english not in page
    for state in ("expired", "all"):
        page = client.get(f"/admin/sessiontokens/session/?state={state}").content
        assert english_left(page.decode(), language) == []
