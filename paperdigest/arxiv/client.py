"""HTTP GET for arXiv feeds with a timeout, bounded retries and a descriptive User-Agent."""

from __future__ import annotations

import http.client
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from paperdigest.errors import FetchError

logger = logging.getLogger(__name__)

# Maximum wait between two attempts, in seconds, even when Retry-After requests more.
MAX_WAIT = 60.0


def fetch_url(
    url: str,
    *,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 2.0,
    user_agent: str,
    sleep: Callable[[float], None] = time.sleep,
) -> bytes:
    """Download `url` and return the response body.

    `timeout` is in seconds per attempt. Connection errors, timeouts, HTTP 429 and 5xx are
    retried up to `retries` more times, so at most 1 + retries attempts are made. The wait
    before retry n (1-based) is backoff * 2 ** (n - 1) seconds, or the integer Retry-After
    header when the server sends one, capped at MAX_WAIT. Other 4xx statuses fail at once.

    Raises FetchError naming the URL, the attempt count and the last status or error.
    """
    if not url.startswith(("http://", "https://")):
        raise FetchError(f"cannot fetch {url!r}: only http:// and https:// URLs are supported.")

    attempts = 1 + max(0, retries)
    request = urllib.request.Request(url, headers={"User-Agent": user_agent})
    for attempt in range(1, attempts + 1):
        retry_after: float | None = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
            logger.debug("fetched %s: %d bytes on attempt %d", url, len(body), attempt)
            return body
        except urllib.error.HTTPError as error:
            status = error.code
            error.close()
            if status != 429 and status < 500:
                raise FetchError(
                    f"fetching {url} failed with HTTP {status} {error.reason} on attempt {attempt}; "
                    "check the URL and the category codes."
                ) from error
            problem = f"HTTP {status} {error.reason}"
            retry_after = retry_after_seconds(error.headers.get("Retry-After"))
            last_error: BaseException = error
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", None) or error
            problem = f"{type(error).__name__}: {reason}"
            last_error = error

        if attempt == attempts:
            break
        wait = retry_after if retry_after is not None else backoff * 2 ** (attempt - 1)
        wait = min(max(wait, 0.0), MAX_WAIT)
        logger.warning(
            "fetching %s failed on attempt %d of %d (%s); retrying in %.1f s", url, attempt, attempts, problem, wait
        )
        sleep(wait)

    raise FetchError(
        f"fetching {url} failed after {attempts} attempts; the last one gave {problem}. "
        "Check the network connection or try again later."
    ) from last_error


def retry_after_seconds(value: str | None) -> float | None:
    """Read an integer Retry-After header. An HTTP-date or an invalid value counts as absent."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit():
        return None
    return float(value)
