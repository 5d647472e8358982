"""ChatModel: request parameters per model family and retries against a local server."""

from __future__ import annotations

import pytest

from fake_openai import Fault, FakeOpenAI
from paperdigest.errors import LLMError
from paperdigest.llm import ChatModel, RequestSettings, is_reasoning_model
from paperdigest.ratelimit import RateLimiter

MESSAGES = [{"role": "system", "content": "Score."}, {"role": "user", "content": '<paper>\nArXiv ID: 2509.00001\nTitle: T\n</paper>'}]


@pytest.mark.parametrize("model", ["gpt-5", "gpt-5-mini", "gpt-5-2025-08-07", "o3", "o4-mini", "openai/gpt-5"])
def test_reasoning_family(model):
    assert is_reasoning_model(model)


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1-mini", "llama3.1:8b", "qwen2.5-7b-instruct", "oss-20b"])
def test_other_family(model):
    assert not is_reasoning_model(model)


def test_reasoning_params():
    params = RequestSettings("gpt-5", 4000, reasoning_effort="low", temperature=0.2).params()
    assert params == {"model": "gpt-5", "max_completion_tokens": 4000, "reasoning_effort": "low"}


def test_chat_params():
    params = RequestSettings("gpt-4o", 4000, reasoning_effort="low", temperature=0.2).params()
    assert params == {"model": "gpt-4o", "max_tokens": 4000, "temperature": 0.2}


class Recorder:
    """A sleep that records and advances a fake clock instead of waiting."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.now = 0.0

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def model_for(server: FakeOpenAI, retries: int = 3, timeout: float = 5.0) -> tuple[ChatModel, Recorder, RateLimiter]:
    sleep = Recorder()
    pacing = RateLimiter(clock=sleep.clock, sleep=sleep)
    chat = ChatModel(
        RequestSettings("gpt-5", 1000),
        api_key="sk-test-llm-0123456789",
        base_url=server.base_url,
        timeout=timeout,
        max_retries=retries,
        limiter=pacing,
        sleep=sleep,
    )
    return chat, sleep, pacing


def test_usage_reported():
    with FakeOpenAI(usage_for=lambda request, ids: (1200, 1000, 45)) as server:
        chat, _, _ = model_for(server)
        completion = chat.complete(MESSAGES)
    assert completion.usage.prompt_tokens == 1200
    assert completion.usage.cached_prompt_tokens == 1000
    assert completion.usage.completion_tokens == 45
    assert '"ARXIVID": "2509.00001"' in completion.text


def test_429_retry_after_pauses_all():
    with FakeOpenAI() as server:
        server.queue(Fault(status=429, headers={"Retry-After": "7"}))
        chat, sleep, _ = model_for(server)
        chat.complete(MESSAGES)
        count = len(server.requests)
    assert count == 2
    assert sleep.sleeps == [7.0]


def test_500_backoff_then_success():
    with FakeOpenAI() as server:
        server.queue(Fault(status=500), Fault(status=502))
        chat, sleep, _ = model_for(server)
        chat.complete(MESSAGES)
    assert len(sleep.sleeps) == 2
    assert sleep.sleeps[1] > sleep.sleeps[0] * 1.1


def test_retries_run_out():
    with FakeOpenAI() as server:
        server.queue(*[Fault(status=503)] * 3)
        chat, _, _ = model_for(server, retries=2)
        with pytest.raises(LLMError, match="gave up after 3 attempts"):
            chat.complete(MESSAGES)
        assert len(server.requests) == 3


def test_timeout_retried():
    with FakeOpenAI() as server:
        server.queue(Fault(delay=1.5))
        chat, sleep, _ = model_for(server, timeout=0.5)
        completion = chat.complete(MESSAGES)
    assert completion.text
    assert len(sleep.sleeps) == 1


def test_400_not_retried():
    with FakeOpenAI() as server:
        server.queue(Fault(status=400, body='{"error": {"message": "Unsupported parameter: temperature"}}'))
        chat, _, _ = model_for(server)
        with pytest.raises(LLMError, match="HTTP 400.*temperature"):
            chat.complete(MESSAGES)
        assert len(server.requests) == 1


def test_401_names_the_variable():
    with FakeOpenAI() as server:
        server.queue(Fault(status=401))
        chat, _, _ = model_for(server)
        with pytest.raises(LLMError, match="OPENAI_API_KEY"):
            chat.complete(MESSAGES)
