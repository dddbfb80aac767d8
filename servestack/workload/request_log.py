"""Request size classes from a log of (input tokens, output tokens) per request.

A gateway or serving engine logs one row per request. The method (docs/traffic-mixes.md):

1. Read the CSV: a header naming `input_tokens` and `output_tokens` columns (other columns are ignored),
   or two bare integer columns in that order. At most `MAX_LOG_BYTES` and `MAX_LOG_ROWS`.
2. Cut the requests into at most `max_classes` bins by input length at its natural breaks: the cuts that
   minimise the spread of log input length within bins (Jenks' method, solved exactly by dynamic
   programming), each bin holding at least `MIN_CLASS_SHARE` of the requests. Requests of one input length
   never straddle a cut (nor, past `_MAX_GROUPS` distinct lengths, of one ~6 % length bucket).
3. Each bin becomes a class: share = its requests / all requests, input/output tokens = the bin's mean,
   rounded up.

Input length drives prefill time (TTFT) and KV memory, so bins on it keep the long prompts - the tail the
p95 TTFT is judged on - apart from the short ones. Equal-count (quantile) bins did not: with 20 % long
prompts, the top quartile mixed 5 % short ones in and its mean understated the long prompts by a fifth.
Breaks on the log scale follow the modes of the distribution whatever their shares.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import os
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from servestack.errors import SpecError

__all__ = ["DEFAULT_LOG_CLASSES", "MAX_LOG_BYTES", "MAX_LOG_ROWS", "classes_from_log", "read_request_log"]

FIELD = "traffic.request_log"
MAX_LOG_BYTES = 64 * 1024 * 1024
"""Largest log read (a million rows of two integers is ~12 MiB)."""
MAX_LOG_ROWS = 2_000_000
DEFAULT_LOG_CLASSES = 4
"""Classes derived from a log: enough to separate short, typical and long prompts; each extra class adds a
column per offering to the mixed-fleet program."""
MIN_CLASS_SHARE = 0.05
"""Smallest share of the requests a derived class takes (when the log allows): a p95 SLO lets 5 % of requests
be slower, so a rarer size is folded into its neighbour's class rather than dictating the plan on its own."""
_MAX_GROUPS = 256
_BUCKETS_PER_E_FOLD = 16
"""Beyond _MAX_GROUPS distinct input lengths, lengths are grouped in buckets 1/16 of an e-fold wide (~6 %)."""


def read_request_log(path: Path) -> list[tuple[int, int]]:
    """(input_tokens, output_tokens) of every logged request; `SpecError` naming the field and row otherwise."""
    shown = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise SpecError(FIELD, shown, "the file does not exist (paths are relative to the spec file)") from None
    except OSError as exc:
        raise SpecError(FIELD, shown, f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise SpecError(FIELD, shown, "is not a regular file; give a CSV file")
        data = fh.read(MAX_LOG_BYTES + 1)
    if len(data) > MAX_LOG_BYTES:
        raise SpecError(FIELD, shown, f"is larger than {MAX_LOG_BYTES // (1024 * 1024)} MiB; sample the log first")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(FIELD, shown, "is not UTF-8 text; give a CSV of input_tokens,output_tokens") from None
    rows = csv.reader(io.StringIO(text))
    out: list[tuple[int, int]] = []
    columns = (0, 1)
    for number, row in enumerate(rows, 1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if number == 1 and not row[0].strip().isdigit():
            header = [cell.strip().lower() for cell in row]
            if "input_tokens" not in header or "output_tokens" not in header:
                raise SpecError(FIELD, shown, f"the header {row[:8]} names no input_tokens and output_tokens columns")
            columns = (header.index("input_tokens"), header.index("output_tokens"))
            continue
        if len(out) >= MAX_LOG_ROWS:
            raise SpecError(FIELD, shown, f"has more than {MAX_LOG_ROWS:,} rows; sample the log first")
        try:
            pair = (int(row[columns[0]]), int(row[columns[1]]))
        except (IndexError, ValueError):
            raise SpecError(
                FIELD, shown, f"row {number} ({row[:4]}) is not two whole token counts (input_tokens, output_tokens)"
            ) from None
        if pair[0] < 1 or pair[1] < 1:
            raise SpecError(FIELD, shown, f"row {number} has a token count below 1: {pair}")
        out.append(pair)
    if not out:
        raise SpecError(FIELD, shown, "holds no requests")
    return out


def classes_from_log(
    requests: list[tuple[int, int]], max_classes: int = DEFAULT_LOG_CLASSES
) -> list[dict[str, object]]:
    """Natural-break bins on log input length (see the module doc), as `traffic.request_mix` entries."""
    n = len(requests)
    groups = _length_groups(requests)
    min_count = math.ceil(MIN_CLASS_SHARE * n)
    cuts = _natural_breaks(groups, max_classes, min_count)
    bins: list[list[tuple[int, int]]] = [[] for _ in cuts[1:]]
    upper = [groups[hi - 1].longest for hi in cuts[1:]]
    for request in requests:
        bins[bisect.bisect_left(upper, request[0])].append(request)
    shares = [len(chunk) / n for chunk in bins]
    # Shares from integer counts sum to 1 up to float rounding; put the remainder on the last class.
    shares[-1] = 1.0 - sum(shares[:-1])
    return [
        {
            "name": f"in-{min(i for i, _ in chunk)}-{max(i for i, _ in chunk)}",
            "share": share,
            "input_tokens": math.ceil(sum(i for i, _ in chunk) / len(chunk)),
            "output_tokens": math.ceil(sum(o for _, o in chunk) / len(chunk)),
        }
        for chunk, share in zip(bins, shares, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class _Group:
    """Requests of neighbouring input lengths that always share a class: one length, or one narrow bucket."""

    longest: int
    count: int
    sum_log: float
    sum_log2: float


def _length_groups(requests: list[tuple[int, int]]) -> list[_Group]:
    """The requests grouped by input length, shortest first; lengths within ~6 % of each other share a group
    when there are more distinct lengths than `_MAX_GROUPS` (bounding the breaks search)."""
    counts = Counter(i for i, _ in requests)
    lengths = sorted(counts)
    if len(lengths) <= _MAX_GROUPS:
        key: dict[int, int] = {length: k for k, length in enumerate(lengths)}
    else:
        key = {length: int(math.log(length) * _BUCKETS_PER_E_FOLD) for length in lengths}
    grouped: dict[int, list[int]] = {}
    for length in lengths:
        grouped.setdefault(key[length], []).append(length)
    return [
        _Group(longest=members[-1], count=sum(counts[m] for m in members),
               sum_log=sum(counts[m] * math.log(m) for m in members),
               sum_log2=sum(counts[m] * math.log(m) ** 2 for m in members))
        for _, members in sorted(grouped.items())
    ]


def _natural_breaks(groups: list[_Group], max_bins: int, min_count: int) -> list[int]:
    """Cut points (group indices, 0 first and len last) of at most `max_bins` contiguous bins of at least
    `min_count` requests each, minimising the summed squared deviation of log input length within bins (an
    exact dynamic programme, Jenks' natural breaks); fewer bins when no more can each hold `min_count`."""
    g = len(groups)
    pc, ps, ps2 = [0], [0.0], [0.0]  # prefix sums of count, log length and its square
    for group in groups:
        pc.append(pc[-1] + group.count)
        ps.append(ps[-1] + group.sum_log)
        ps2.append(ps2[-1] + group.sum_log2)

    def sse(lo: int, hi: int) -> float:
        c = pc[hi] - pc[lo]
        return (ps2[hi] - ps2[lo]) - (ps[hi] - ps[lo]) ** 2 / c

    inf = math.inf
    best = [[inf] * (g + 1) for _ in range(max_bins + 1)]
    back = [[0] * (g + 1) for _ in range(max_bins + 1)]
    best[0][0] = 0.0
    for k in range(1, max_bins + 1):
        for hi in range(k, g + 1):
            for lo in range(k - 1, hi):
                if best[k - 1][lo] == inf or pc[hi] - pc[lo] < min_count:
                    continue
                cost = best[k - 1][lo] + sse(lo, hi)
                if cost < best[k][hi] - 1e-12:
                    best[k][hi], back[k][hi] = cost, lo
    bins = max((k for k in range(1, max_bins + 1) if best[k][g] < inf), default=1)
    if best[bins][g] == inf:  # fewer requests than min_count: one class of them all
        return [0, g]
    cuts = [g]
    for k in range(bins, 0, -1):
        cuts.append(back[k][cuts[-1]])
    return cuts[::-1]
