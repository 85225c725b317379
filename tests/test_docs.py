"""The settings reference documents exactly the settings ``defaults.py`` defines,
with their defaults, and the checks reference every check id."""

import re
from pathlib import Path

from django_sessiontokens.conf import PREFIX
from django_sessiontokens.defaults import DEFAULTS

DOCS = Path(__file__).resolve().parent.parent / "docs"
CHECKS_CODE = Path(__file__).resolve().parent.parent / "django_sessiontokens" / "checks"


def documented_settings():
    """``### `SESSIONTOKENS_X``` sections: name -> the section's text."""
    text = (DOCS / "reference" / "settings.md").read_text()
    sections = re.split(r"^### `(\w+)`\n", text, flags=re.M)
    return dict(zip(sections[1::2], sections[2::2], strict=True))


def test_every_setting_is_documented_and_nothing_else():
    documented = set(documented_settings())
    defined = {PREFIX + name for name in DEFAULTS}
    assert sorted(defined - documented) == [], "settings missing from the docs"
    assert sorted(documented - defined) == [], "documented settings that do not exist"


def test_each_setting_has_type_default_and_checks():
    check_ids = set(re.findall(r"sessiontokens\.([EW]\d{3})", _check_sources()))
    for name, section in documented_settings().items():
        default = re.search(r"^- \*\*Default:\*\* `(.*)`$", section, re.M)
        assert default, f"{name}: no default"
        assert default[1] == repr(DEFAULTS[name.removeprefix(PREFIX)]), name
        assert re.search(r"^- \*\*Type:\*\* \S", section, re.M), f"{name}: no type"
        checks = re.search(r"^- \*\*Checks:\*\* (.*)$", section, re.M)
        assert checks, f"{name}: no check ids"
        ids = set(re.findall(r"[EW]\d{3}", checks[1]))
        assert ids and ids <= check_ids, f"{name}: unknown check ids {ids}"


def _check_sources():
    return "".join(path.read_text() for path in CHECKS_CODE.glob("*.py"))


def test_every_check_id_is_in_the_checks_reference():
    in_code = set(re.findall(r'id="(sessiontokens\.[EW]\d{3})"', _check_sources()))
    page = (DOCS / "reference" / "checks.md").read_text()
    documented = set(re.findall(r"`(sessiontokens\.[EW]\d{3})`", page))
    assert in_code == documented
