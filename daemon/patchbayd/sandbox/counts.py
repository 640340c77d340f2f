"""Requests (and batch items) per endpoint template, and the answers by status, so tests
and benchmarks can assert how a client behaved (how many retries, how many items per
batch, how many 429s: a rate limit shared by several daemons) without a packet capture."""

from __future__ import annotations

from collections import Counter


class Counts:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()

    def reset(self) -> None:
        self.requests.clear()
        self.items.clear()
        self.statuses.clear()

    def snapshot(self) -> dict[str, dict[str, int]]:
        return {
            "requests": dict(self.requests),
            "items": dict(self.items),
            "statuses": dict(self.statuses),
        }
