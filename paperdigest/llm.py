"""Thin wrapper over the openai client: request parameters per model family, reported usage."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import openai

from paperdigest.errors import LLMError
from paperdigest.models import Usage

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

    def params(self) -> dict[str, Any]:
        """Keyword arguments for chat.completions.create, without the messages."""
        params: dict[str, Any] = {"model": self.model}
        if is_reasoning_model(self.model):
            params["max_completion_tokens"] = self.max_completion_tokens
            if self.reasoning_effort:
                params["reasoning_effort"] = self.reasoning_effort
        else:
            params["max_tokens"] = self.max_completion_tokens
            if self.temperature is not None:
                params["temperature"] = self.temperature
        return params


@dataclass(frozen=True)
class Completion:
    """One answer and the usage the API reported for it."""

    text: str
    usage: Usage
    finish_reason: str | None
    latency: float  # seconds


class ChatModel:
    """Sends chat requests; the openai client retries 429, 5xx, timeouts and connection errors."""

    def __init__(
        self,
        settings: RequestSettings,
        *,
        api_key: str,
        base_url: str | None,
        timeout: float,
        max_retries: int,
    ):
        self.settings = settings
        self.client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)

    @property
    def base_url(self) -> str:
        return str(self.client.base_url)

    def complete(self, messages: list[dict[str, str]]) -> Completion:
        started = time.monotonic()
        try:
            response = self.client.chat.completions.create(messages=messages, **self.settings.params())
        except openai.AuthenticationError as exc:
            raise LLMError(
                f"the model server at {self.base_url} rejected the API key (HTTP 401); "
                "check OPENAI_API_KEY or [llm] api_key_env"
            ) from exc
        except openai.APIStatusError as exc:
            raise LLMError(f"request to {self.base_url} failed with HTTP {exc.status_code}: {_short(exc.message)}") from exc
        except openai.APITimeoutError as exc:
            raise LLMError(f"request to {self.base_url} timed out; raise [llm] timeout or use smaller batches") from exc
        except openai.APIConnectionError as exc:
            raise LLMError(f"cannot connect to the model server at {self.base_url}: {exc}") from exc
        except openai.APIError as exc:
            raise LLMError(f"request to {self.base_url} failed: {_short(str(exc))}") from exc
        latency = time.monotonic() - started
        if not response.choices:
            raise LLMError(f"the model server at {self.base_url} answered with no choices")
        choice = response.choices[0]
        text = choice.message.content or "" if choice.message else ""
        return Completion(text=text, usage=_usage(response.usage), finish_reason=choice.finish_reason, latency=latency)


def _usage(reported: Any) -> Usage:
    if reported is None:
        return Usage(requests=1)
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
