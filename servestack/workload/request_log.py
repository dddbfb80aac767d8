"""Request size classes from a log of (input tokens, output tokens) per request.

A gateway or serving engine logs one row per request. The method (docs/traffic-mixes.md):

1. Read the CSV: a header naming `input_tokens` and `output_tokens` columns (other columns are ignored),
   or two bare integer columns in that order. At most `MAX_LOG_BYTES` and `MAX_LOG_ROWS`.
2. Sort the requests by input length and cut them into at most `max_classes` bins at input-length
   quantiles (equal request counts; requests with equal input length never straddle a cut).
3. Each bin becomes a class: share = its requests / all requests, input/output tokens = the bin's mean,
   rounded up (so a class never understates the work of its requests).

Input length drives prefill time (TTFT) and KV memory, so bins on it keep the long prompts - the tail the
p95 TTFT is judged on - apart from the short ones. Quantile bins put the cuts where the requests are.
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
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
    """Quantile bins on input length (see the module doc), as `traffic.request_mix` entries."""
    ordered = sorted(requests)
    n = len(ordered)
    cuts = [0]
    for k in range(1, max_classes):
        cut = math.ceil(n * k / max_classes)
        # Equal input lengths stay in one bin: move the cut past the run it falls in.
        while 0 < cut < n and ordered[cut][0] == ordered[cut - 1][0]:
            cut += 1
        if cuts[-1] < cut < n:
            cuts.append(cut)
    cuts.append(n)
    bins = [ordered[lo:hi] for lo, hi in zip(cuts, cuts[1:], strict=False)]
    shares = [len(chunk) / n for chunk in bins]
    # Shares from integer counts sum to 1 up to float rounding; put the remainder on the last class.
    shares[-1] = 1.0 - sum(shares[:-1])
    return [
        {
            "name": f"in-{chunk[0][0]}-{chunk[-1][0]}",
            "share": share,
            "input_tokens": math.ceil(sum(i for i, _ in chunk) / len(chunk)),
            "output_tokens": math.ceil(sum(o for _, o in chunk) / len(chunk)),
        }
        for chunk, share in zip(bins, shares, strict=True)
    ]
