"""Model prices, the dollar cost of a run's usage, and tiktoken estimates of prompt size."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import tiktoken
import tiktoken.model

from paperdigest.models import Cost, Usage

logger = logging.getLogger(__name__)

TOKENS_PER_PRICE_UNIT = 1_000_000


@dataclass(frozen=True, slots=True)
class Price:
    """USD per 1M tokens for one model."""

    input: float
    cached_input: float  # prompt tokens served from the provider's prompt cache
    output: float


# Standard-tier prices from OpenAI's pricing page (https://openai.com/api/pricing/),
# taken in 2025-09. Prices change: users override them with a [pricing."MODEL"] table
# in config.toml.
PRICES: dict[str, Price] = {
    "gpt-5": Price(1.25, 0.125, 10.00),
    "gpt-5-mini": Price(0.25, 0.025, 2.00),
    "gpt-5-nano": Price(0.05, 0.005, 0.40),
    "gpt-4.1": Price(2.00, 0.50, 8.00),
    "gpt-4.1-mini": Price(0.40, 0.10, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.025, 0.40),
    "gpt-4o": Price(2.50, 1.25, 10.00),
    "gpt-4o-mini": Price(0.15, 0.075, 0.60),
}

_SNAPSHOT_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")  # e.g. gpt-5-2025-08-07
_DISPLAY_STEP = Decimal("0.0001")  # costs are shown with 4 decimals


def _model_name_candidates(model: str) -> list[str]:
    """List the names to look up, most specific first: as given, without provider, without snapshot date."""
    candidates = [model]
    bare = model.rsplit("/", 1)[-1]  # "openai/gpt-5" (OpenRouter style) -> "gpt-5"
    undated = _SNAPSHOT_SUFFIX.sub("", bare)
    for name in (bare, undated):
        if name not in candidates:
            candidates.append(name)
    return candidates


def find_price(model: str, overrides: Mapping[str, Price]) -> Price | None:
    """Look up the price of ``model``, or None when it has no known price.

    An override under the exact model name wins. Then each name from the exact one to the
    one without provider prefix and snapshot date is tried, first in ``overrides`` and then
    in the shipped table. Names are never matched by prefix, so gpt-5-mini never gets
    gpt-5's price.
    """
    if model in overrides:
        return overrides[model]

    for name in _model_name_candidates(model.strip()):
        if name in overrides:
            return overrides[name]
        if name.lower() in PRICES:
            return PRICES[name.lower()]
    return None


def compute_cost(usage: Usage, price: Price) -> Cost:
    """Compute the USD cost of ``usage``, billing cached prompt tokens at the cached rate."""
    cached = min(usage.cached_prompt_tokens, usage.prompt_tokens)
    uncached = usage.prompt_tokens - cached
    prompt = (uncached * price.input + cached * price.cached_input) / TOKENS_PER_PRICE_UNIT
    completion = usage.completion_tokens * price.output / TOKENS_PER_PRICE_UNIT
    return Cost(prompt=prompt, completion=completion)


def _round_dollars(amount: float) -> Decimal:
    # str() gives the shortest decimal form of the float, so 0.032955 rounds up as written.
    return Decimal(str(amount)).quantize(_DISPLAY_STEP, rounding=ROUND_HALF_UP)


def format_cost_cells(cost: Cost | None) -> tuple[str, str, str]:
    """Format (prompt, completion, total) as "$0.0330" strings, or "n/a" when the cost is unknown.

    The total is the sum of the two rounded parts, so the cells add up as displayed.
    """
    if cost is None:
        return ("n/a", "n/a", "n/a")

    prompt = _round_dollars(cost.prompt)
    completion = _round_dollars(cost.completion)
    return (f"${prompt}", f"${completion}", f"${prompt + completion}")


# Token estimates ---------------------------------------------------------------------

_CHARS_PER_TOKEN_ESTIMATE = 4
_encodings: dict[str, tiktoken.Encoding | None] = {}  # None: loading failed in this process
_fallback_warned = False


def reset_encoding_cache() -> None:
    """Forget loaded encodings and the fallback warning, so the next count loads again."""
    global _fallback_warned
    _encodings.clear()
    _fallback_warned = False


def encoding_name_for(model: str) -> str:
    """Return the tiktoken encoding name for ``model``, o200k_base when tiktoken does not know it."""
    bare = model.strip().rsplit("/", 1)[-1]
    try:
        return tiktoken.model.encoding_name_for_model(bare)
    except KeyError:
        pass

    lowered = bare.lower()
    if lowered.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4")):
        return "o200k_base"
    if lowered.startswith(("gpt-4", "gpt-3.5", "gpt-35")):
        return "cl100k_base"
    return "o200k_base"


def _load_encoding(name: str) -> tiktoken.Encoding | None:
    global _fallback_warned
    if name in _encodings:
        return _encodings[name]

    try:
        encoding = tiktoken.get_encoding(name)
    # tiktoken raises whatever its download or file read raises (requests errors, OSError,
    # ValueError on a hash mismatch), so any failure here means "no encoding".
    # NOTE: tiktoken downloads with requests and no timeout, so a network that drops packets
    # instead of refusing the connection can stall this first load.
    except Exception as exc:  # noqa: BLE001
        encoding = None
        if not _fallback_warned:
            _fallback_warned = True
            logger.warning(
                "Token counts are estimates (%d characters per token) because the tiktoken "
                "encoding %s could not be loaded: %s. To get exact counts, set "
                "TIKTOKEN_CACHE_DIR to a folder that contains the encoding file, or run once "
                "with network access so tiktoken can download and cache it.",
                _CHARS_PER_TOKEN_ESTIMATE,
                name,
                exc,
            )
    _encodings[name] = encoding
    return encoding


class TokenCounter:
    """Counts the tokens of prompt text for one model with tiktoken.

    The encoding loads on first use. When it cannot be loaded (offline and not cached),
    counts fall back to len(text) / 4 rounded up, ``exact`` is False, and one warning
    per process explains how to get exact counts.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.encoding_name = encoding_name_for(model)

    @property
    def exact(self) -> bool:
        """True when counts come from the tiktoken encoding, False when they are estimates."""
        return _load_encoding(self.encoding_name) is not None

    def count(self, text: str) -> int:
        """Return the number of tokens in ``text``, or an estimate when the encoding is unavailable."""
        encoding = _load_encoding(self.encoding_name)
        if encoding is None:
            return math.ceil(len(text) / _CHARS_PER_TOKEN_ESTIMATE)
        # disallowed_special=() counts "<|endoftext|>" in a paper's text as plain text instead of raising.
        return len(encoding.encode(text, disallowed_special=()))
