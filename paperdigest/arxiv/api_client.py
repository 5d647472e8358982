"""Fetch the listing of a past announcement date through the arXiv API (export.arxiv.org/api/query).

rss.arxiv.org only serves the newest announcement, so older dates are rebuilt from the API:
fetch_day() requests the papers of the configured categories submitted inside the date's
submission window (calendar.submission_window) and pages through the results.

From the `arxiv` package (4.0.2) come the query URL and its conventions: `arxiv.Search` with
`SortCriterion`/`SortOrder`, and `Client._format_url` with `query_url_format` pointed at
`api_url`. Its `Client` does not do the HTTP, because it sends a fixed User-Agent, ignores
Retry-After, discards the body of an HTTP 400 response and sleeps on the wall clock. Nor does
`client.fetch_url`, because it also discards the 400 body that carries the API's error
message. The requests below therefore go through urllib, and api.parse_api_page parses them.

What the API cannot tell, so the listing only approximates the announcement:
- the announce type: a paper is "new" when its primary category is configured and "cross"
  otherwise. The query selects by submission date, so no paper is typed "replace", and the
  replacements announced on that date are missing.
- papers announced on another day than their window implies: late cross-lists, papers that
  arXiv put on hold and announced later, and the extra day after an arXiv holiday.
- the version announced that day: the API returns each paper's newest version.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

import arxiv

from paperdigest.arxiv.api import ApiPage, api_error_message, parse_api_page
from paperdigest.arxiv.calendar import submission_window
from paperdigest.arxiv.client import retry_after_seconds
from paperdigest.errors import FeedFormatError, FetchError
from paperdigest.models import Listing, Paper

logger = logging.getLogger(__name__)

API_URL = "https://export.arxiv.org/api/query"
# The API returns at most 2000 results per request.
MAX_PAGE_SIZE = 2000
# Statuses worth another attempt: rate limiting and server-side failures.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def fetch_day(
    categories: Sequence[str],
    day: dt.date,
    *,
    api_url: str = API_URL,
    user_agent: str,
    page_size: int = 200,
    delay_seconds: float = 3.0,
    retries: int = 4,
    max_wait: float = 60.0,
    empty_page_retries: int = 1,
    max_pages: int = 50,
    timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Listing:
    """Return the papers in `categories` submitted in the submission window of the date `day`.

    Pages of `page_size` results are requested in submission order until the API's
    totalResults is reached, for at most `max_pages` pages. Consecutive requests are at least
    `delay_seconds` apart (arXiv's terms of use ask for 3 s), measured with `clock` and waited
    out with `sleep`, both in seconds. A connection error, a timeout after `timeout` seconds,
    HTTP 429 or a 5xx status is retried up to `retries` more times. The wait before retry n
    is the Retry-After header in seconds when the server sends one, else
    max(delay_seconds, 1) * 2 ** (n - 1), and never more than `max_wait`. A page without
    entries where papers were expected is requested again up to `empty_page_retries` times
    before it is believed, because the API sometimes returns an empty page by mistake (arxiv
    4.0.2 retries those too).

    The Listing has announced=day, reported_count=totalResults and one paper per id. When
    the number of papers differs from totalResults, a WARNING names both numbers.

    Raises ValueError for a Saturday or Sunday, no categories, or an invalid page_size,
    max_pages or api_url.
    Raises FeedFormatError naming the URL and the API's message when the API rejects the query
    with HTTP 400, or when a response is not an Atom feed. Raises FetchError when a page cannot
    be fetched after all retries.
    """
    if not categories:
        raise ValueError("fetch_day needs at least one category, e.g. ['cs.LG']")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size {page_size} is invalid; the arXiv API accepts 1 to {MAX_PAGE_SIZE}.")
    if max_pages < 1:
        raise ValueError(f"max_pages {max_pages} is invalid; it must be at least 1.")
    if not user_agent.strip():
        raise ValueError("fetch_day needs a descriptive user_agent naming the tool and a contact")

    start, end = submission_window(day)
    source = f"arXiv API (submissions {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} New York time)"
    search = arxiv.Search(
        query=submission_query(categories, start, end),
        max_results=None,
        sort_by=arxiv.SortCriterion.SubmittedDate,
        sort_order=arxiv.SortOrder.Ascending,
    )
    url_builder = arxiv.Client(page_size=page_size, delay_seconds=delay_seconds, num_retries=retries)
    url_builder.query_url_format = _query_url_format(api_url)
    fetcher = _PageFetcher(
        categories=tuple(categories),
        user_agent=user_agent,
        timeout=timeout,
        retries=retries,
        max_wait=max_wait,
        backoff=max(delay_seconds, 1.0),
        throttle=_Throttle(delay_seconds, sleep, clock),
    )
    logger.info("fetching %s for %s: %s", source, day.isoformat(), search.query)

    papers: dict[str, Paper] = {}
    total: int | None = None
    offset = 0
    for page_number in range(max_pages):
        url = url_builder._format_url(search, offset, page_size)
        page = fetcher.fetch_page(url)
        for _ in range(max(0, empty_page_retries)):
            if page.entry_count:
                break
            logger.warning(
                "%s: empty page at offset %d (totalResults %s); requesting it again",
                url,
                offset,
                page.total_results,
            )
            page = fetcher.fetch_page(url)

        if page.total_results is not None:
            total = page.total_results
        if not page.entry_count:
            if page_number > 0:
                logger.warning("%s: still empty at offset %d, so paging stops here", url, offset)
            else:
                logger.info("%s: the API lists no papers for %s", source, day.isoformat())
            break
        for paper in page.papers:
            papers.setdefault(paper.id, paper)
        offset += page.entry_count

        more = offset < total if total is not None else page.entry_count >= page_size
        if not more:
            break
    else:
        logger.warning(
            "stopped after %d pages of %d results at offset %d of %s; raise page_size to get the rest",
            max_pages,
            page_size,
            offset,
            total,
        )

    warnings: list[str] = []
    if total is not None and len(papers) != total:
        message = f"the arXiv API reported {total} papers for this window, but {len(papers)} were parsed"
        logger.warning("%s: %s", source, message)
        warnings.append(message)
    return Listing(
        announced=day,
        papers=tuple(papers.values()),
        source=source,
        feed_categories=tuple(categories),
        reported_count=total,
        warnings=tuple(warnings),
    )


_ARCHIVES_WITH_SUBJECTS = frozenset({"cs", "econ", "eess", "math", "astro-ph", "cond-mat", "nlin", "physics", "q-bio", "q-fin", "stat"})


def submission_query(categories: Sequence[str], start: dt.datetime, end: dt.datetime) -> str:
    """Build the API search query for `categories` submitted from `start` to `end` (aware datetimes).

    The result reads "(cat:cs.LG OR cat:cs.AI) AND submittedDate:[202509081800 TO 202509091800]",
    with both ends in UTC, in the YYYYMMDDHHMM form that the API expects.

    NOTE: the API's range includes both ends at minute resolution, so a paper submitted in the
    cutoff minute itself (14:00 New York time) can appear on two consecutive dates.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("submission_query needs timezone-aware start and end datetimes")
    # An archive code ("cs") has to be written as a wildcard to match its categories ("cs.LG").
    codes = " OR ".join(f"cat:{code}" if "." in code or code not in _ARCHIVES_WITH_SUBJECTS else f"cat:{code}.*" for code in categories)
    first = start.astimezone(dt.timezone.utc).strftime("%Y%m%d%H%M")
    last = end.astimezone(dt.timezone.utc).strftime("%Y%m%d%H%M")
    return f"({codes}) AND submittedDate:[{first} TO {last}]"


def _query_url_format(api_url: str) -> str:
    """Return api_url as an arxiv.Client.query_url_format, with "{}" where the query string goes."""
    if not api_url.startswith(("http://", "https://")):
        raise ValueError(f"api_url {api_url!r} is invalid; use an http:// or https:// URL such as {API_URL}.")
    escaped = api_url.replace("{", "{{").replace("}", "}}")
    return escaped + ("&{}" if "?" in api_url else "?{}")


class _Throttle:
    """Keeps consecutive requests at least `delay` seconds apart on an injected clock."""

    def __init__(self, delay: float, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self._delay = max(0.0, delay)
        self._sleep = sleep
        self._clock = clock
        self._last_done: float | None = None

    def wait(self, at_least: float = 0.0) -> None:
        """Sleep for `at_least` seconds, or longer when the previous request ended less than delay ago."""
        remaining = at_least
        if self._last_done is not None:
            remaining = max(remaining, self._delay - (self._clock() - self._last_done))
        if remaining > 0:
            logger.debug("waiting %.1f s before the next arXiv API request", remaining)
            self._sleep(remaining)

    def done(self) -> None:
        """Record that a request has just ended."""
        self._last_done = self._clock()


class _PageFetcher:
    """Downloads and parses API pages with the delay, retries and User-Agent of one fetch_day call."""

    def __init__(
        self,
        *,
        categories: tuple[str, ...],
        user_agent: str,
        timeout: float,
        retries: int,
        max_wait: float,
        backoff: float,
        throttle: _Throttle,
    ) -> None:
        self._categories = categories
        self._user_agent = user_agent
        self._timeout = timeout
        self._attempts = 1 + max(0, retries)
        self._max_wait = max(0.0, max_wait)
        self._backoff = backoff
        self._throttle = throttle

    def fetch_page(self, url: str) -> ApiPage:
        return parse_api_page(self._get(url), url, self._categories)

    def _get(self, url: str) -> bytes:
        """Return the body of `url`, retrying as fetch_day describes."""
        request = urllib.request.Request(url, headers={"User-Agent": self._user_agent})
        wait = 0.0
        for attempt in range(1, self._attempts + 1):
            self._throttle.wait(at_least=wait)
            retry_after: float | None = None
            try:
                try:
                    with urllib.request.urlopen(request, timeout=self._timeout) as response:
                        body = response.read()
                finally:
                    self._throttle.done()
                logger.debug("fetched %s: %d bytes on attempt %d", url, len(body), attempt)
                return body
            except urllib.error.HTTPError as error:
                status = error.code
                if status == 400:
                    self._raise_bad_request(url, error)
                error.close()
                if status not in _RETRY_STATUSES:
                    raise FetchError(
                        f"fetching {url} failed with HTTP {status} {error.reason} on attempt {attempt}; "
                        "check api_url and the category codes."
                    ) from error
                problem = f"HTTP {status} {error.reason}"
                if status in (429, 503):
                    retry_after = retry_after_seconds(error.headers.get("Retry-After"))
                last_error: BaseException = error
            except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as error:
                reason = getattr(error, "reason", None) or error
                problem = f"{type(error).__name__}: {reason}"
                last_error = error

            if attempt == self._attempts:
                break
            wait = retry_after if retry_after is not None else self._backoff * 2 ** (attempt - 1)
            wait = min(wait, self._max_wait)
            logger.warning(
                "fetching %s failed on attempt %d of %d (%s); retrying after at least %.1f s",
                url,
                attempt,
                self._attempts,
                problem,
                wait,
            )

        raise FetchError(
            f"fetching {url} failed after {self._attempts} attempts; the last one gave {problem}. "
            "Check the network connection or try again later."
        ) from last_error

    def _raise_bad_request(self, url: str, error: urllib.error.HTTPError) -> None:
        """Raise FeedFormatError with the API's message from the body of an HTTP 400 response."""
        try:
            body = error.read()
        except (OSError, http.client.HTTPException):
            body = b""
        finally:
            error.close()
        message = api_error_message(body)
        if message is not None:
            raise FeedFormatError(
                f"the arXiv API rejected the request {url} with HTTP 400: {message}. "
                "Check the category codes and the query syntax."
            ) from error
        snippet = body[:200].decode("utf-8", errors="replace")
        raise FeedFormatError(
            f"the arXiv API rejected the request {url} with HTTP 400 but sent no error entry; "
            f"the body starts with {snippet!r}. Check the category codes and api_url."
        ) from error


