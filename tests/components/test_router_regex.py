"""The router's arithmetic: Content-Length ranges per class, and the regular expressions that match them."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servestack.components.kubernetes.router import class_byte_ranges, decimal_range_regex

# What RE2 (Envoy's safe_regex) and Python agree on: anchors, a non-capturing group, alternation, digit classes,
# counted repetition and `0*`. No lookaround or backreference, which RE2 rejects.
_RE2_SAFE = re.compile(r"^\^0\*\(\?:[0-9\[\]\-{}|]+\)\$$")

bounds = st.integers(min_value=0, max_value=10**9).flatmap(
    lambda low: st.tuples(st.just(low), st.integers(min_value=low, max_value=low + 10**9)))
"""Bounds of any magnitude (0 to 2e9), the second never below the first."""


def _near(data: st.DataObject, low: int, high: int) -> int:
    """A length likely to sit on a boundary: a bound +-1, a bound with some digits redrawn, or anything."""
    base = data.draw(st.sampled_from([low, high]))
    choice = data.draw(st.sampled_from(["offset", "digits", "any"]))
    if choice == "offset":
        return max(0, base + data.draw(st.integers(min_value=-2, max_value=2)))
    if choice == "digits":
        digits = list(str(base))
        for position in data.draw(st.lists(st.integers(min_value=0, max_value=len(digits) - 1), max_size=3)):
            digits[position] = data.draw(st.sampled_from("0123456789"))
        return int("".join(digits))
    return data.draw(st.integers(min_value=0, max_value=3 * 10**9))


@settings(deadline=None)  # a collector pause in a long test session is not this code's time
@given(bounds, st.data())
def test_range_regex_matches_exactly_the_integers_in_range(bound: tuple[int, int], data: st.DataObject) -> None:
    low, high = bound
    pattern = decimal_range_regex(low, high)
    for _ in range(20):
        length = _near(data, low, high)
        assert (re.fullmatch(pattern, str(length)) is not None) == (low <= length <= high), (pattern, length)


@settings(deadline=None)  # a collector pause in a long test session is not this code's time
@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**8),
       st.integers(min_value=1, max_value=3))
def test_at_most_n_with_leading_zeros(n: int, length: int, zeros: int) -> None:
    # "content-length <= N" is the range [0, N]; HTTP allows leading zeros, which change no value.
    pattern = decimal_range_regex(0, n)
    padded = "0" * zeros + str(length)
    assert (re.fullmatch(pattern, padded) is not None) == (length <= n), (pattern, padded)


@settings(deadline=None)  # a collector pause in a long test session is not this code's time
@given(bounds)
def test_range_regex_uses_only_re2_syntax_and_rejects_non_numbers(bound: tuple[int, int]) -> None:
    pattern = decimal_range_regex(*bound)
    assert _RE2_SAFE.match(pattern), pattern
    for text in ("", "-1", "+5", " 5", "5 ", "1e3", "0x10", "abc"):
        assert re.fullmatch(pattern, text) is None, (pattern, text)


@pytest.mark.parametrize(("low", "high", "inside", "outside"), [
    (0, 0, ["0", "000"], ["1", "10"]),
    (0, 9, ["0", "9"], ["10"]),
    (10, 99, ["10", "55", "99"], ["9", "100"]),
    (0, 14_300, ["0", "600", "14300"], ["14301", "28000", "100000"]),
    (14_301, 28_000, ["14301", "20000", "28000"], ["14300", "28001", "600"]),
    (999, 1000, ["999", "1000"], ["998", "1001"]),
])
def test_range_regex_edges(low: int, high: int, inside: list[str], outside: list[str]) -> None:
    pattern = decimal_range_regex(low, high)
    assert all(re.fullmatch(pattern, s) for s in inside), pattern
    assert not any(re.fullmatch(pattern, s) for s in outside), pattern


@pytest.mark.parametrize(("low", "high"), [(-1, 5), (5, 4), (True, 5), (1.5, 5)])
def test_range_regex_refuses_bad_bounds(low: object, high: object) -> None:
    with pytest.raises(ValueError, match="decimal_range_regex"):
        decimal_range_regex(low, high)  # type: ignore[arg-type]


def test_classes_split_at_the_midpoint_of_their_prompts_in_bytes() -> None:
    # The mixed-fleet example's classes: 150 and 7000 prompt tokens; the boundary is 3575 tokens x 4 bytes.
    ranges = class_byte_ranges([("long", 7000), ("short", 150)])
    assert ranges == [{"pool_class": "short", "low": 0, "high": 14_300},
                      {"pool_class": "long", "low": 14_301, "high": None}]
    assert class_byte_ranges([("a", 100), ("b", 300)], bytes_per_token=3.5)[0]["high"] == 700


@settings(deadline=None)  # a collector pause in a long test session is not this code's time
@given(st.lists(st.integers(min_value=1, max_value=200_000), min_size=2, max_size=6, unique=True),
       st.floats(min_value=1.0, max_value=8.0))
def test_class_ranges_are_contiguous_ordered_and_cover_every_length(tokens: list[int], bytes_per_token: float) -> None:
    classes = [(f"c{t}", t) for t in tokens]
    ranges = class_byte_ranges(classes, bytes_per_token)
    assert [r["pool_class"] for r in ranges] == [f"c{t}" for t in sorted(tokens)]
    assert ranges[0]["low"] == 0 and ranges[-1]["high"] is None
    for before, after in zip(ranges, ranges[1:], strict=False):
        assert before["high"] is not None and after["low"] == before["high"] + 1
        assert before["low"] <= before["high"]


def test_classes_the_router_cannot_tell_apart_are_refused() -> None:
    with pytest.raises(ValueError, match="'a' and 'b' both have input_tokens=200"):
        class_byte_ranges([("a", 200), ("b", 200)])
    with pytest.raises(ValueError, match="at least two classes"):
        class_byte_ranges([("a", 200)])
    with pytest.raises(ValueError, match="bytes_per_token=0.5"):
        class_byte_ranges([("a", 200), ("b", 300)], bytes_per_token=0.5)
