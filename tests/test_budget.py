"""The spending cap's reservations: worst case per request, learned from the usage servers report."""

from __future__ import annotations

import pytest

from paperdigest.budget import PROMPT_MARGIN, Budget
from paperdigest.cost import Price
from paperdigest.models import Usage

PRICE = Price(input=1.0, cached_input=0.1, output=10.0)  # USD per 1M tokens


def test_reservation_adds_prompt_margin():
    budget = Budget(1.0, PRICE)

    reservation = budget.reserve(10_000, papers=10, max_completion_tokens=1_000)

    assert reservation is not None
    assert reservation.cost == pytest.approx(10_000 * PROMPT_MARGIN * 1e-6 + 1_000 * 10e-6)
    assert reservation.prompt_tokens == 10_000


def test_reported_prompt_raises_later_reservations():
    budget = Budget(1.0, PRICE)
    first = budget.reserve(10_000, papers=10, max_completion_tokens=1_000)
    assert first is not None

    budget.settle(first, Usage(prompt_tokens=20_000, completion_tokens=500, requests=1), papers=10)
    second = budget.reserve(10_000, papers=10, max_completion_tokens=1_000)

    assert second is not None
    assert second.cost == pytest.approx(10_000 * 2 * PROMPT_MARGIN * 1e-6 + 1_000 * 10e-6)


def test_smaller_reported_prompt_keeps_margin():
    budget = Budget(1.0, PRICE)
    first = budget.reserve(10_000, papers=10, max_completion_tokens=1_000)
    assert first is not None

    budget.settle(first, Usage(prompt_tokens=5_000, completion_tokens=500, requests=1), papers=10)
    second = budget.reserve(10_000, papers=10, max_completion_tokens=1_000)

    assert second is not None
    assert second.cost == pytest.approx(10_000 * PROMPT_MARGIN * 1e-6 + 1_000 * 10e-6)


def test_spend_stays_under_cap_with_heavier_tokenizer():
    budget = Budget(0.05, PRICE)
    for _ in range(20):
        reservation = budget.reserve(2_000, papers=5, max_completion_tokens=4_000)
        if reservation is None:
            break
        # The server counts 15% more prompt tokens and uses the whole completion limit.
        usage = Usage(prompt_tokens=2_300, completion_tokens=reservation.completion_limit, requests=1)
        budget.settle(reservation, usage, papers=5)

    assert budget.spent <= 0.05
    assert budget.reserved == 0
