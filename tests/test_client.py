import pytest

from arxiv_server import CannedResponse
from paperdigest import __version__
from paperdigest.arxiv.client import MAX_WAIT, fetch_url
from paperdigest.errors import FetchError

USER_AGENT = f"paperdigest/{__version__} (+https://github.com/paperdigest/paperdigest)"


class SleepRecorder:
    def __init__(self):
        self.waits = []

    def __call__(self, seconds):
        self.waits.append(seconds)


def fetch(url, sleep, **options):
    return fetch_url(url, timeout=5.0, user_agent=USER_AGENT, sleep=sleep, **options)


def test_fetch_ok(arxiv_server):
    url = arxiv_server.serve_bytes("/rss/cs.LG", b"<rss/>")
    sleep = SleepRecorder()
    assert fetch(url, sleep) == b"<rss/>"
    assert sleep.waits == []


def test_fetch_sends_user_agent(arxiv_server):
    url = arxiv_server.serve_bytes("/rss/cs.LG", b"<rss/>")
    fetch(url, SleepRecorder())
    assert arxiv_server.requests_to("/rss/cs.LG")[0].headers["User-Agent"] == USER_AGENT


def test_fetch_retry_after_honoured(arxiv_server):
    url = arxiv_server.serve(
        "/rss/cs.LG",
        CannedResponse(b"busy", 503, {"Retry-After": "7"}),
        CannedResponse(b"<rss/>"),
    )
    sleep = SleepRecorder()
    assert fetch(url, sleep) == b"<rss/>"
    assert sleep.waits == [7.0]
    assert len(arxiv_server.requests_to("/rss/cs.LG")) == 2


def test_fetch_retry_after_capped(arxiv_server):
    url = arxiv_server.serve(
        "/rss/cs.LG",
        CannedResponse(b"slow down", 429, {"Retry-After": "3600"}),
        CannedResponse(b"<rss/>"),
    )
    sleep = SleepRecorder()
    fetch(url, sleep)
    assert sleep.waits == [MAX_WAIT]


def test_fetch_backoff_is_exponential(arxiv_server):
    url = arxiv_server.serve_bytes("/rss/cs.LG", b"down", status=500)
    sleep = SleepRecorder()
    with pytest.raises(FetchError):
        fetch(url, sleep, retries=3, backoff=2.0)
    assert sleep.waits == [2.0, 4.0, 8.0]


def test_fetch_404_fails_at_once(arxiv_server):
    url = arxiv_server.url("/rss/cs.XX")
    sleep = SleepRecorder()
    with pytest.raises(FetchError, match="HTTP 404") as raised:
        fetch(url, sleep)
    assert url in str(raised.value)
    assert sleep.waits == []
    assert len(arxiv_server.requests_to("/rss/cs.XX")) == 1


def test_fetch_retries_exhausted(arxiv_server):
    url = arxiv_server.serve_bytes("/rss/cs.LG", b"down", status=503)
    with pytest.raises(FetchError) as raised:
        fetch(url, SleepRecorder(), retries=2)
    message = str(raised.value)
    assert "after 3 attempts" in message
    assert "HTTP 503" in message
    assert url in message
    assert len(arxiv_server.requests_to("/rss/cs.LG")) == 3


def test_fetch_connection_refused(arxiv_server):
    url = arxiv_server.url("/rss/cs.LG")
    arxiv_server.__exit__(None, None, None)
    sleep = SleepRecorder()
    with pytest.raises(FetchError, match="after 2 attempts"):
        fetch(url, sleep, retries=1, backoff=0.5)
    assert sleep.waits == [0.5]


def test_fetch_rejects_other_schemes():
    with pytest.raises(FetchError, match="only http"):
        fetch("file:///etc/hostname", SleepRecorder())
