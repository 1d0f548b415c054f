"""Pytest set-up for the plughost Python package tests: the package under test is the
checkout's (Sources/PlugHostPython), the library the build folder's."""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SOURCE = REPO / "Sources" / "PlugHostPython"
sys.path.insert(0, str(SOURCE))


def build_dir() -> pathlib.Path:
    """PLUGHOST_BUILD_DIR, else .build/debug: the folder with libplughost_embed.so, the
    bundled plugins and the plughost executable."""
    return pathlib.Path(os.environ.get("PLUGHOST_BUILD_DIR", REPO / ".build" / "debug")).resolve()


@pytest.fixture(scope="session")
def build() -> pathlib.Path:
    d = build_dir()
    for name in ("libplughost_embed.so", "libtext.so", "libsig.so", "plughost"):
        assert (d / name).exists(), f"{d / name} is missing: run swift build (products plughost_embed, text, sig, plughost)"
    return d


@pytest.fixture(scope="session")
def library(build: pathlib.Path) -> str:
    return str(build / "libplughost_embed.so")
