"""Pytest glue for the `plughost mcp` client tests: attach each server's stderr to a failing test's report."""

from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ARG001
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for server in getattr(item, "_plughost_servers", []):
        report.sections.append((f"plughost stderr ({server.transport}, {server.workdir})", server.stderr_text()))
