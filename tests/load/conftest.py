from __future__ import annotations

from tests.load.client import HEADER, RESULTS


def pytest_terminal_summary(terminalreporter):
    if RESULTS:
        terminalreporter.section("load and faults")
        terminalreporter.write_line(HEADER)
        for row in RESULTS:
            terminalreporter.write_line(row)
