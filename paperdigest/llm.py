"""Thin wrapper over the openai client: request parameters per model family, reported usage."""

from __future__ import annotations

import datetime
import email.utils
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paperdigest.errors import FatalLLMError, LLMError
from paperdigest.models import Usage
from paperdigest.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# gpt-5 and the o-series reject `temperature` and `max_tokens`; they take `max_completion_tokens`
# and `reasoning_effort`. A provider prefix such as "openai/" (OpenRouter) is ignored.
_REASONING_FAMILY = re.compile(r"^(?:[\w.-]+/)?(?:gpt-5|o\d)(?:\b|-|$)")


def is_reasoning_model(model: str) -> bool:
    return _REASONING_FAMILY.match(model.lower()) is not None


@dataclass(frozen=True)
class RequestSettings:
    model: str
    max_completion_tokens: int
    reasoning_effort: str | None = None
    temperature: float | None = None

    def params(self, max_completion_tokens: int | None = None) -> dict[str, Any]:
        """Keyword arguments for chat.completions.create, without the messages.

        `max_completion_tokens` lowers the configured limit for one request (the budget's share).
        """
        limit = min(self.max_completion_tokens, max_completion_tokens or self.max_completion_tokens)
        params: dict[str, Any] = {"model": self.model}
        if is_reasoning_model(self.model):
            params["max_completion_tokens"] = limit
            if self.reasoning_effort:
                params["reasoning_effort"] = self.reasoning_effort
        else:
            params["max_tokens"] = limit
            if self.temperature is not None:
                params["temperature"] = self.temperature
        return params


@dataclass(frozen=True)
class Completion:
    """One answer and the usage the API reported for it."""

    text: str
    usage: Usage | None  # None when the server reported no usage
    finish_reason: str | None
    latency: float  # seconds


RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
# Answers that no retry or other batch can fix: a rejected key, no access, no such model.
FATAL_STATUS = frozenset({401, 403, 404})
MAX_WAIT = 120.0  # seconds: the longest single wait, whatever Retry-After asks for


class ChatModel:
    """Sends chat requests and retries 408, 409, 429, 5xx, timeouts and connection errors.

    The openai client's own retries are off so that a 429 pauses every request of the run
    through the shared RateLimiter, honouring Retry-After, instead of only the one that got it.
    """

    def __init__(
        self,
        settings: RequestSettings,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float,
        max_retries: int,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        import openai  # imported here: it takes a noticeable part of a second, and offline runs never need it

        self.settings = settings
        self.max_retries = max_retries
        self.limiter = limiter or RateLimiter()
        self.sleep = sleep
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)

    @property
    def base_url(self) -> str:
        return str(self.client.base_url)

    def complete(self, messages: list[dict[str, str]], prompt_estimate: int = 0, max_completion_tokens: int | None = None) -> Completion:
        """Send one request, retrying transient failures; raise LLMError when retries run out."""
        attempt = 0
        while True:
            self.limiter.acquire(prompt_estimate)
            try:
                return self._send(messages, max_completion_tokens)
            except _Retryable as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise LLMError(f"{exc.message}; gave up after {attempt} attempts ([llm] max_retries = {self.max_retries})") from exc.__cause__
                wait = exc.retry_after if exc.retry_after is not None else min(MAX_WAIT, 2.0 ** (attempt - 1))
                wait = min(MAX_WAIT, wait) * (1.0 if exc.retry_after is not None else random.uniform(0.75, 1.25))
                log.info("%s; retry %d of %d in %.1f s", exc.message, attempt, self.max_retries, wait)
                if exc.status == 429:
                    self.limiter.pause(wait)  # every request of the run waits, not only this one
                else:
                    self.sleep(wait)

    def _send(self, messages: list[dict[str, str]], max_completion_tokens: int | None) -> Completion:
        import openai

        started = time.monotonic()
        try:
            response = self.client.chat.completions.create(messages=messages, **self.settings.params(max_completion_tokens))
        except openai.AuthenticationError as exc:
            raise FatalLLMError(
                f"the model server at {self.base_url} rejected the API key (HTTP 401); "
                "check OPENAI_API_KEY or [llm] api_key_env"
            ) from exc
        except openai.APIStatusError as exc:
            message = f"request to {self.base_url} failed with HTTP {exc.status_code}: {_short(exc.message)}"
            if exc.status_code in RETRYABLE_STATUS:
                raise _Retryable(message, exc.status_code, _retry_after(exc.response)) from exc
            if exc.status_code in FATAL_STATUS:
                raise FatalLLMError(f"{message}; check [llm] model, base_url and the API key") from exc
            raise LLMError(message) from exc
        except openai.APITimeoutError as exc:
            raise _Retryable(f"request to {self.base_url} timed out", None, None) from exc
        except openai.APIConnectionError as exc:
            raise _Retryable(f"cannot connect to the model server at {self.base_url}: {exc}", None, None) from exc
        except openai.APIError as exc:
            raise LLMError(f"request to {self.base_url} failed: {_short(str(exc))}") from exc
        except (ValueError, TypeError, KeyError) as exc:
            # A 200 response whose body is not the JSON of a chat completion (a proxy's error
            # page, a truncated body) surfaces as a decoding error inside the client.
            raise _Retryable(f"the model server at {self.base_url} sent a malformed response: {_short(str(exc))}", None, None) from exc
        latency = time.monotonic() - started
        if not response.choices:
            raise LLMError(f"the model server at {self.base_url} answered with no choices")
        choice = response.choices[0]
        text = (choice.message.content or "") if choice.message else ""
        return Completion(text=text, usage=_usage(response.usage), finish_reason=choice.finish_reason, latency=latency)


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None, retry_after: float | None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after


def _retry_after(response: Any) -> float | None:
    """Seconds from a Retry-After (seconds or HTTP date) or retry-after-ms header, if present."""
    headers = getattr(response, "headers", None) or {}
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def _usage(reported: Any) -> Usage | None:
    """Usage of one request, or None when the server reported none."""
    if reported is None:
        return None
    details = getattr(reported, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0
    return Usage(
        prompt_tokens=reported.prompt_tokens or 0,
        cached_prompt_tokens=cached,
        completion_tokens=reported.completion_tokens or 0,
        requests=1,
    )


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 1] + "…"
