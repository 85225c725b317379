"""A small MaxMind database for the tests, written with mmdb-writer (no
download): documentation addresses in Paris and Germany."""

from pathlib import Path

PARIS = {
    "city": {"names": {"en": "Paris", "de": "Paris"}},
    "country": {"iso_code": "FR", "names": {"en": "France", "de": "Frankreich"}},
}
GERMANY = {
    "country": {"iso_code": "DE", "names": {"en": "Germany", "de": "Deutschland"}}
}


def write_database(path: Path) -> Path:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-City",
        languages=["en", "de"],
        description="django-sessiontokens tests",
    )
    writer.insert_network(IPSet(["203.0.113.0/24"]), PARIS)
    writer.insert_network(IPSet(["2001:db8::/32"]), GERMANY)
    writer.to_db_file(str(path))
    return path
