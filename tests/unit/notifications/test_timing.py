from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from alliance_notifications.domain.timing import Backoff, QuietHours, TokenBucket, next_digest_at

SH = ZoneInfo("Asia/Shanghai")
NIGHT = QuietHours(time(21, 0), time(8, 0))


def at(hour, minute=0, day=2):
    return datetime(2026, 6, day, hour, minute, tzinfo=SH)


def test_quiet_hours_across_midnight_release_at_the_next_opening():
    assert NIGHT.release(at(22, 30), SH) == at(8, 0, day=3)
    assert NIGHT.release(at(3, 0), SH) == at(8, 0)
    assert NIGHT.release(at(21, 0), SH) == at(8, 0, day=3), "the start of the quiet hours is quiet"
    assert NIGHT.release(at(8, 0), SH) == at(8, 0), "the opening itself is not"
    assert NIGHT.release(at(12, 0), SH) == at(12, 0)


def test_quiet_hours_within_a_day_and_none_at_all():
    lunch = QuietHours(time(12, 0), time(13, 30))
    assert lunch.release(at(12, 15), SH) == at(13, 30)
    assert lunch.release(at(13, 30), SH) == at(13, 30)
    never = QuietHours(time(0, 0), time(0, 0))
    assert never.empty and never.release(at(23, 59), SH) == at(23, 59)


def test_release_works_on_utc_moments_in_local_time():
    # 14:00 UTC is 22:00 in Dezhou: quiet; released at 08:00 local = 00:00 UTC next day.
    assert NIGHT.release(datetime(2026, 6, 2, 14, 0, tzinfo=UTC), SH) == at(8, 0, day=3)


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(SH)))
def test_a_released_message_never_lands_in_quiet_hours_nor_waits_more_than_a_night(moment):
    released = NIGHT.release(moment, SH)
    assert not NIGHT.contains(released.astimezone(SH))
    assert moment <= released <= moment + timedelta(hours=11)


def test_the_digest_goes_at_the_next_digest_time():
    assert next_digest_at(at(10, 0), time(18, 0), SH) == at(18, 0)
    assert next_digest_at(at(18, 0), time(18, 0), SH) == at(18, 0, day=3)
    assert next_digest_at(at(23, 0), time(18, 0), SH) == at(18, 0, day=3)


def test_backoff_doubles_up_to_its_ceiling_then_the_delivery_is_dead():
    backoff = Backoff(first=30, ceiling=100, max_attempts=4)
    now = at(10, 0)
    assert [backoff.after_failure(n, now) for n in (1, 2, 3)] == [
        ("failed", now + timedelta(seconds=30)),
        ("failed", now + timedelta(seconds=60)),
        ("failed", now + timedelta(seconds=100)),
    ]
    assert backoff.after_failure(4, now) == ("dead", now)
    assert backoff.after_failure(1, now, permanent=True) == ("dead", now), "a refusal is not retried"
    assert Backoff(first=5, ceiling=300).after_failure(50, now)[0] == "failed", "no limit: never dead"


def test_the_bucket_starts_full_refills_at_its_rate_and_never_beyond_its_burst():
    bucket = TokenBucket(rate=2, burst=5)
    now = at(10, 0)
    assert bucket.budget(0, None, now, ceiling=100) == (5, 5.0)
    assert bucket.budget(0, now, now + timedelta(seconds=1.2), ceiling=100) == (2, 2.4)
    assert bucket.budget(1, now, now + timedelta(hours=1), ceiling=3) == (3, 5.0), "capped by the batch"
    assert bucket.budget(3, now, now - timedelta(seconds=10), ceiling=100) == (3, 3.0), "a clock set back adds nothing"


@given(
    rate=st.floats(min_value=0.1, max_value=50),
    burst=st.integers(min_value=1, max_value=100),
    gaps=st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=50),
)
def test_sends_never_exceed_burst_plus_rate_times_elapsed(rate, burst, gaps):
    bucket, start = TokenBucket(rate, burst), at(10, 0)
    tokens, refilled, now, sent = 0.0, None, start, 0
    for gap in gaps:
        now += timedelta(seconds=gap)
        take, available = bucket.budget(tokens, refilled, now, ceiling=1000)
        tokens, refilled, sent = available - take, now, sent + take
    assert sent <= burst + rate * (now - start).total_seconds() + 1e-6
