"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from arxiv_server import ArxivServer


@pytest.fixture
def arxiv_server():
    """A local HTTP server on 127.0.0.1 with canned responses (see tests/arxiv_server.py)."""
    with ArxivServer() as server:
        yield server


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """Keep every test away from the user's folders, keys and the network.

    User config, data (the score cache) and cache folders point into a temporary folder,
    tiktoken reads the encoding files from the fixtures, and any HTTP client that honours
    proxy variables sends traffic for hosts other than 127.0.0.1 to a closed local port.
    """
    home = tmp_path_factory.mktemp("home")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(home / name.lower()))
    for name in ("PAPERDIGEST_CONFIG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(FIXTURES / "tiktoken"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
