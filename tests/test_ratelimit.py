from hypothesis import given
from hypothesis import strategies as st

from app.ratelimit import RateLimiter


def test_allows_up_to_the_limit_then_says_how_long_to_wait():
    limiter = RateLimiter(limit=3, window_seconds=60)
    assert [limiter.hit("a", t) for t in (0, 1, 2)] == [0, 0, 0]
    assert limiter.hit("a", 3) == 57
    assert limiter.hit("b", 3) == 0  # other clients are unaffected
    assert limiter.hit("a", 60.5) == 0  # the first hit has left the window


@given(
    st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=80),
    st.integers(1, 10),
)
def test_never_more_than_limit_in_any_window(times, limit):
    limiter = RateLimiter(limit=limit, window_seconds=60)
    allowed = [t for t in sorted(times) if limiter.hit("k", t) == 0]
    for t in allowed:
        assert len([u for u in allowed if t - 60 < u <= t]) <= limit


def test_forgets_idle_clients_when_full():
    limiter = RateLimiter(limit=1, window_seconds=10, max_keys=4)
    for i in range(4):
        limiter.hit(f"k{i}", 0)
    limiter.hit("new", 100)
    assert len(limiter._hits) == 1
