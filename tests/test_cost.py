import logging
import random
from decimal import Decimal
from pathlib import Path

import pytest
import tiktoken.registry

from paperdigest import cost as cost_module
from paperdigest.cost import (
    PRICES,
    Price,
    TokenCounter,
    compute_cost,
    encoding_name_for,
    find_price,
    format_cost_cells,
)
from paperdigest.models import Cost, Usage

TIKTOKEN_FIXTURES = Path(__file__).parent / "fixtures" / "tiktoken"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")


@pytest.fixture(autouse=True)
def fresh_encoding_cache():
    cost_module.reset_encoding_cache()
    yield
    cost_module.reset_encoding_cache()


def test_compute_cost_gpt5_example():
    usage = Usage(prompt_tokens=26_364, completion_tokens=29_620, requests=3)
    cost = compute_cost(usage, PRICES["gpt-5"])
    assert format_cost_cells(cost) == ("$0.0330", "$0.2962", "$0.3292")


def test_compute_cost_cached_rate():
    usage = Usage(prompt_tokens=1_000_000, cached_prompt_tokens=400_000, completion_tokens=0)
    cost = compute_cost(usage, PRICES["gpt-5"])
    assert cost.prompt == pytest.approx(600_000 * 1.25 / 1e6 + 400_000 * 0.125 / 1e6)
    assert cost.completion == 0


def test_compute_cost_cached_above_prompt_clamped():
    usage = Usage(prompt_tokens=100, cached_prompt_tokens=500)
    cost = compute_cost(usage, Price(1.0, 0.5, 2.0))
    assert cost.prompt == pytest.approx(100 * 0.5 / 1e6)


def test_find_price_exact():
    assert find_price("gpt-4o-mini", {}) == Price(0.15, 0.075, 0.60)


def test_find_price_dated_snapshot():
    assert find_price("gpt-5-2025-08-07", {}) == PRICES["gpt-5"]
    assert find_price("gpt-4o-2024-11-20", {}) == PRICES["gpt-4o"]
    assert find_price("gpt-5-mini-2025-08-07", {}) == PRICES["gpt-5-mini"]


def test_find_price_mini_not_gpt5():
    assert find_price("gpt-5-mini", {}) == Price(0.25, 0.025, 2.00)
    assert find_price("gpt-5-mini", {}) != PRICES["gpt-5"]


def test_find_price_no_loose_prefix():
    assert find_price("gpt-5-turbo", {}) is None
    assert find_price("gpt-4o-mini-tts", {}) is None


def test_find_price_provider_prefix():
    assert find_price("openai/gpt-5", {}) == PRICES["gpt-5"]
    assert find_price("openai/gpt-4.1-nano", {}) == PRICES["gpt-4.1-nano"]


def test_find_price_override_wins():
    custom = Price(9.0, 9.0, 9.0)
    assert find_price("gpt-5", {"gpt-5": custom}) == custom
    assert find_price("my-local-model", {"my-local-model": custom}) == custom


def test_find_price_unknown_model():
    assert find_price("llama-3-70b", {}) is None
    assert format_cost_cells(None) == ("n/a", "n/a", "n/a")


def test_format_cost_cells_round_half_up():
    assert format_cost_cells(Cost(prompt=0.00005, completion=0.00015)) == ("$0.0001", "$0.0002", "$0.0003")


def test_format_cost_cells_add_up():
    rng = random.Random(20250901)
    models = list(PRICES)
    for _ in range(2000):
        prompt_tokens = rng.randint(0, 3_000_000)
        usage = Usage(
            prompt_tokens=prompt_tokens,
            cached_prompt_tokens=rng.randint(0, prompt_tokens),
            completion_tokens=rng.randint(0, 500_000),
        )
        cells = format_cost_cells(compute_cost(usage, PRICES[rng.choice(models)]))
        prompt, completion, total = (Decimal(cell.removeprefix("$")) for cell in cells)
        assert prompt + completion == total, (usage, cells)


def test_encoding_name_for_families():
    assert encoding_name_for("gpt-5-mini") == "o200k_base"
    assert encoding_name_for("gpt-4.1-nano-2025-04-14") == "o200k_base"
    assert encoding_name_for("openai/gpt-4o") == "o200k_base"
    assert encoding_name_for("gpt-4-0613") == "cl100k_base"
    assert encoding_name_for("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_name_for("some-future-model") == "o200k_base"


def test_token_counter_exact(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(TIKTOKEN_FIXTURES))
    counter = TokenCounter("gpt-5")
    assert counter.count("hello world") == 2
    assert counter.exact is True


def test_token_counter_cl100k(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(TIKTOKEN_FIXTURES))
    counter = TokenCounter("gpt-4")
    assert counter.encoding_name == "cl100k_base"
    assert counter.count("hello world") == 2
    assert counter.exact is True


def test_token_counter_special_token_text(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(TIKTOKEN_FIXTURES))
    assert TokenCounter("gpt-5").count("<|endoftext|>") > 1


def test_token_counter_fallback_warns_once(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    # tiktoken keeps loaded encodings in a process-wide registry; hide those loaded by other tests.
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})

    counter = TokenCounter("gpt-5")
    with caplog.at_level(logging.WARNING, logger="paperdigest.cost"):
        first = counter.count("hello world")
        second = TokenCounter("gpt-4o").count("a" * 9)

    assert first == 3
    assert second == 3
    assert counter.exact is False
    warnings = [r for r in caplog.records if r.name == "paperdigest.cost"]
    assert len(warnings) == 1
    assert "estimates" in warnings[0].getMessage()
    assert "TIKTOKEN_CACHE_DIR" in warnings[0].getMessage()


def test_token_counter_empty_text_estimate(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    assert TokenCounter("gpt-5").count("") == 0
