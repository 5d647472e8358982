"""RateLimiter pacing with a fake clock, and the 429 pause shared by all requests."""

from __future__ import annotations

from paperdigest.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(clock: FakeClock, **limits) -> RateLimiter:
    return RateLimiter(clock=clock, sleep=clock.sleep, **limits)


def test_unlimited_never_waits():
    clock = FakeClock()
    pacing = limiter(clock)
    for _ in range(100):
        pacing.acquire(10_000)
    assert clock.sleeps == []


def test_requests_per_minute():
    clock = FakeClock()
    pacing = limiter(clock, requests_per_minute=3)
    for _ in range(4):
        pacing.acquire(1)
    assert clock.now == 60.0


def test_tokens_per_minute():
    clock = FakeClock()
    pacing = limiter(clock, tokens_per_minute=10_000)
    pacing.acquire(6_000)
    clock.now = 10.0
    pacing.acquire(3_000)
    pacing.acquire(3_000)
    assert clock.now == 60.0


def test_oversized_request_goes_alone():
    clock = FakeClock()
    pacing = limiter(clock, tokens_per_minute=1_000)
    pacing.acquire(5_000)
    pacing.acquire(5_000)
    assert clock.now == 60.0


def test_pause_holds_every_caller():
    clock = FakeClock()
    pacing = limiter(clock)
    pacing.pause(7.5)
    waited = pacing.acquire(1)
    assert waited == 7.5
    assert clock.now == 7.5


def test_pause_keeps_the_longer_wait():
    clock = FakeClock()
    pacing = limiter(clock)
    pacing.pause(10)
    pacing.pause(2)
    pacing.acquire(1)
    assert clock.now == 10
