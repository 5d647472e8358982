"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

from arxiv_server import ArxivServer


@pytest.fixture
def arxiv_server():
    """A local HTTP server on 127.0.0.1 with canned responses (see tests/arxiv_server.py)."""
    with ArxivServer() as server:
        yield server
