"""Writes demo-city.mmdb: a tiny MaxMind-format City database for the
example project's own addresses (loopback and the documentation ranges of
RFC 5737 and RFC 3849), so its sessions page shows a location without a
real GeoLite2 download. Made with mmdb-writer (a development dependency):

    .venv/bin/python example_project/geoip/make_demo_database.py

The places are made up for the demo; a real site points
SESSIONTOKENS_GEOIP at MaxMind's GeoLite2-City.mmdb instead.
"""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "demo-city.mmdb"


def place(city: dict[str, str], code: str, country: dict[str, str]) -> dict:
    return {
        "city": {"names": city},
        "country": {"iso_code": code, "names": country},
    }


BERLIN = place(
    {"en": "Berlin", "de": "Berlin", "fr": "Berlin", "es": "Berlín"},
    "DE",
    {"en": "Germany", "de": "Deutschland", "fr": "Allemagne", "es": "Alemania"},
)
PARIS = place(
    {"en": "Paris", "de": "Paris", "fr": "Paris", "es": "París"},
    "FR",
    {"en": "France", "de": "Frankreich", "fr": "France", "es": "Francia"},
)
MADRID = place(
    {"en": "Madrid", "de": "Madrid", "fr": "Madrid", "es": "Madrid"},
    "ES",
    {"en": "Spain", "de": "Spanien", "fr": "Espagne", "es": "España"},
)
LISBON = place(
    {"en": "Lisbon", "de": "Lissabon", "fr": "Lisbonne", "es": "Lisboa"},
    "PT",
    {"en": "Portugal", "de": "Portugal", "fr": "Portugal", "es": "Portugal"},
)

NETWORKS = [
    (["127.0.0.0/8", "::1/128"], BERLIN),  # runserver on this machine
    (["192.0.2.0/24"], PARIS),  # TEST-NET-1
    (["198.51.100.0/24"], MADRID),  # TEST-NET-2
    (["203.0.113.0/24", "2001:db8::/32"], LISBON),  # TEST-NET-3, IPv6 docs
]


def main() -> None:
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-City",
        languages=["en", "de", "fr", "es"],
        description="django-sessiontokens example project (made-up places)",
    )
    for networks, content in NETWORKS:
        writer.insert_network(IPSet(networks), content)
    writer.to_db_file(str(OUTPUT))
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
