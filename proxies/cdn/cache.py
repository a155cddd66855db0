"""The CDN node's object cache: per-path lifetimes, grace, a size bound, surrogate-key purges.

Pure: the clock is passed in, so every rule is unit-tested without sleeping.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum

from proxies.contract import CacheRule, accept_variant

CACHEABLE_STATUSES = frozenset({200, 203, 300, 301, 302, 404, 410})


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def size(self) -> int:
        return len(self.body) + sum(len(k) + len(v) for k, v in self.headers)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


@dataclass
class CacheEntry:
    response: StoredResponse
    stored_at: float
    ttl_s: float
    hits: int = 0
    surrogate_keys: frozenset[str] = field(default_factory=frozenset)

    def age_s(self, now: float) -> float:
        return max(0.0, now - self.stored_at)

    def is_fresh(self, now: float) -> bool:
        return self.age_s(now) < self.ttl_s


class Freshness(Enum):
    FRESH = "fresh"
    STALE = "stale"  # expired, but inside grace: may be served if the fetch fails
    MISSING = "missing"


@dataclass(frozen=True)
class Lookup:
    freshness: Freshness
    entry: CacheEntry | None = None


class TtlRules:
    """The first rule whose regex matches the path decides the lifetime; none means pass."""

    def __init__(self, rules: list[CacheRule]) -> None:
        self._rules = [(re.compile(rule.path_regex), rule.ttl_s) for rule in rules]

    def ttl_for(self, path: str) -> float | None:
        for pattern, ttl_s in self._rules:
            if pattern.search(path):
                return ttl_s
        return None


def variant_key(path_qs: str, accept: str) -> str:
    # The origin varies /simple/ pages on Accept (PEP 691); like PyPI's VCL, the key holds the
    # normalised variant, not the raw header, so every pip and every browser share objects.
    return f"{path_qs}\n{accept_variant(accept)}"


def varies_on_accept(response: StoredResponse) -> bool:
    vary = response.header("Vary") or ""
    return "accept" in {part.strip().lower() for part in vary.split(",")}


def is_cacheable(method: str, status: int, ttl_s: float | None) -> bool:
    return method in ("GET", "HEAD") and status in CACHEABLE_STATUSES and bool(ttl_s)


class ObjectCache:
    """An LRU bounded in bytes; expired entries are kept while they are inside grace."""

    def __init__(self, max_bytes: int, grace_s: float) -> None:
        self.max_bytes = max_bytes
        self.grace_s = grace_s
        self.bytes = 0
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()
        self._varying: set[str] = set()  # paths whose responses carry `Vary: Accept`

    def __len__(self) -> int:
        return len(self._entries)

    def key_for(self, path_qs: str, accept: str) -> str:
        """Objects are shared across Accept variants unless the origin said `Vary: Accept`."""
        return variant_key(path_qs, accept) if path_qs in self._varying else path_qs

    def lookup(self, path_qs: str, accept: str, now: float) -> Lookup:
        key = self.key_for(path_qs, accept)
        entry = self._entries.get(key)
        if entry is None:
            return Lookup(Freshness.MISSING)
        if entry.is_fresh(now):
            self._entries.move_to_end(key)
            return Lookup(Freshness.FRESH, entry)
        if entry.age_s(now) < entry.ttl_s + self.grace_s:
            return Lookup(Freshness.STALE, entry)
        self._remove(key)
        return Lookup(Freshness.MISSING)

    def store(
        self, path_qs: str, accept: str, response: StoredResponse, ttl_s: float, now: float
    ) -> CacheEntry | None:
        if response.size > self.max_bytes:
            return None
        if varies_on_accept(response):
            self._varying.add(path_qs)
        key = self.key_for(path_qs, accept)
        self._remove(key)
        keys = frozenset((response.header("Surrogate-Key") or "").split())
        entry = CacheEntry(response, stored_at=now, ttl_s=ttl_s, surrogate_keys=keys)
        self._entries[key] = entry
        self.bytes += response.size
        while self.bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._remove(oldest)
        return entry

    def purge(self, surrogate_key: str) -> int:
        """Drop every object tagged with the key (the CDN's purge by `pkg~NAME`)."""
        doomed = [k for k, e in self._entries.items() if surrogate_key in e.surrogate_keys]
        for key in doomed:
            self._remove(key)
        return len(doomed)

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.response.size
