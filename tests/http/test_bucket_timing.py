"""How long until a token bucket next has a token: what pool placement compares between shards."""

from __future__ import annotations

from shared.http import Rate, VirtualClock
from shared.http._pacing import TokenBucket


def test_a_bucket_with_a_token_is_free_now() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(Rate(per_second=0.25, burst=1), clock)

    assert bucket.seconds_until_free() == 0.0


async def test_taking_the_last_token_leaves_one_interval_to_wait_and_the_wait_shrinks_with_time() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(Rate(per_second=0.25, burst=1), clock)

    await bucket.acquire()
    assert bucket.seconds_until_free() == 4.0
    await clock.sleep(1.5)
    assert bucket.seconds_until_free() == 2.5
    await clock.sleep(2.5)
    assert bucket.seconds_until_free() == 0.0


async def test_half_a_token_spare_after_a_take_leaves_half_an_interval() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(Rate(per_second=2.0, burst=1.5), clock)

    await bucket.acquire()
    assert bucket.seconds_until_free() == 0.25


async def test_a_429_hold_counts_until_its_retry_after_ends_then_the_refilled_bucket_is_free() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(Rate(per_second=0.5, burst=1), clock)

    bucket.throttled(retry_after=10)
    assert bucket.seconds_until_free() == 10.0
    await clock.sleep(4)
    assert bucket.seconds_until_free() == 6.0
    await clock.sleep(6)
    assert bucket.seconds_until_free() == 0.0  # the halved rate (0.25/s) refilled one token during the hold


async def test_a_429_without_retry_after_waits_one_interval_of_the_halved_rate() -> None:
    clock = VirtualClock()
    bucket = TokenBucket(Rate(per_second=0.5, burst=1), clock)

    bucket.throttled()
    assert bucket.seconds_until_free() == 4.0  # 0.5/s halved: one token per four seconds
