"""Where a session is: the city and country of its recorded IP address,
from a MaxMind database (GeoLite2 / GeoIP2 City or Country) read through
``geoip2`` (``pip install "django-sessiontokens[geoip]"``).

Looked up only when something shows a session (the "your sessions" page,
the API, the admin list, the new-device email), never while serving other
requests; answers are cached per process. Nothing is stored: the location
comes from the address ``SESSIONTOKENS_RECORD_IP`` lets us keep, and with
``"none"`` there is none.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils import translation

from django_sessiontokens.conf import conf

logger = logging.getLogger("django_sessiontokens")

#: Database files looked for in a folder, in this order (Django's GeoIP2
#: settings name them too).
CITY_FILE, COUNTRY_FILE = "GeoLite2-City.mmdb", "GeoLite2-Country.mmdb"


@dataclass(frozen=True)
class Location:
    """``""`` means "not known"."""

    city: str
    country: str
    country_code: str

    @property
    def label(self) -> str:
        """``"Paris, France"``, ``"France"``."""
        return ", ".join(part for part in (self.city, self.country) if part)

    def as_json(self) -> dict[str, str | None]:
        return {
            "city": self.city or None,
            "country": self.country or None,
            "country_code": self.country_code or None,
        }


def database_file(path: str | None = None) -> Path | None:
    """The database ``SESSIONTOKENS_GEOIP`` (or ``GEOIP_PATH``) names: the
    file itself, or in a folder the city database, else the country one
    (``GEOIP_CITY`` / ``GEOIP_COUNTRY`` name them, as for Django's GeoIP2)."""
    path = path if path is not None else conf.GEOIP
    if not path:
        return None
    found = Path(path)
    if found.is_dir():
        for name in (
            getattr(settings, "GEOIP_CITY", CITY_FILE),
            getattr(settings, "GEOIP_COUNTRY", COUNTRY_FILE),
        ):
            if (found / name).is_file():
                return found / name
        return None
    return found if found.is_file() else None


#: Open readers by database file (closed by ``clear``).
_READERS: dict[Path, Any] = {}


def _reader(path: Path) -> Any:
    reader = _READERS.get(path)
    if reader is None:
        import geoip2.database

        reader = _READERS[path] = geoip2.database.Reader(str(path))
    return reader


def _name(names: dict[str, str], language: str) -> str:
    return (
        names.get(language) or names.get(language.split("-")[0]) or names.get("en", "")
    )


@functools.lru_cache(maxsize=4096)
def _lookup(path: Path, ip: str, language: str) -> Location | None:
    import geoip2.errors

    reader = _reader(path)
    try:
        if "City" in reader.metadata().database_type:
            found = reader.city(ip)
            city = _name(found.city.names, language)
        else:
            found = reader.country(ip)
            city = ""
    except (geoip2.errors.AddressNotFoundError, ValueError):
        return None
    country = _name(found.country.names, language)
    code = found.country.iso_code or ""
    if not (city or country or code):
        return None
    return Location(city=city, country=country, country_code=code)


def locate(ip: str | None) -> Location | None:
    """The location of a recorded address, in the active language (English
    names where the database has none); ``None`` when location is off, the
    address is not recorded or not in the database. Never raises: a
    database that cannot be read is logged."""
    if not ip or conf.RECORD_IP == "none":
        return None
    path = database_file()
    if path is None:
        return None
    try:
        return _lookup(path, ip, translation.get_language() or "en")
    except Exception:
        logger.exception("Could not look up a location in %s", path)
        return None


def clear(**kwargs: Any) -> None:
    """Forget the readers and answers (a database replaced on disk is read
    again; tests change the settings)."""
    _lookup.cache_clear()
    while _READERS:
        _READERS.popitem()[1].close()


setting_changed.connect(clear, dispatch_uid="django_sessiontokens.location")
