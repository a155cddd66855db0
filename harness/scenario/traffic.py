"""The words every part of the harness shares about a request: its traffic class, and the layer
of the CDN path that made an error (or, for caches, answered).

Kept at the bottom of the import graph: the run records, the expectation language and the
analysis all speak of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from proxies import contract


class TrafficClass(StrEnum):
    """The hand-written classes. A recorded mix replays as a class under its own name."""

    PIP = "pip"
    BROWSER = "browser"
    MIRROR = "mirror"


TRAFFIC_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,39}$"
# A traffic class as runs record it: one of TrafficClass, or a recorded mix's name.
TrafficName = Annotated[str, Field(pattern=TRAFFIC_NAME_PATTERN)]


def traffic_classes(names: Iterable[str]) -> list[str]:
    """The classes among `names`: the hand-written ones in their order, then mixes by name."""
    seen = set(names)
    builtin = [t.value for t in TrafficClass if t.value in seen]
    return builtin + sorted(seen - set(builtin))


class MirrorClient(StrEnum):
    """Which bandersnatch a mirror group behaves as, per changed project.

    1.4 (2014-04-15, current that day) reads the JSON page through the CDN; 1.3 and older made
    XML-RPC calls per project (`package_releases`, then `release_urls` per release): POSTs,
    never cached, that skip the shield and land on the backend's workers.
    """

    BANDERSNATCH_1_4 = "bandersnatch-1.4"
    BANDERSNATCH_1_3 = "bandersnatch-1.3"


class Layer(StrEnum):
    """Which layer produced an error answer (or, for cache states, which cache answered)."""

    EDGE = "edge"
    SHIELD = contract.SHIELD_NODE
    ORIGIN_LB = contract.ORIGIN_BALANCER_NODE  # the origin's modelled nginx: 502 / 503
    ORIGIN = contract.ORIGIN_NODE  # a 5xx the origin app itself returned
    CLIENT = "client"  # no HTTP answer at all: timeout, refused, reset
    TAP = contract.TAP_NODE  # an answer the lab injected on a tapped link (http_status)

    @classmethod
    def of_node(cls, node: str) -> Layer:
        return cls.EDGE if node.startswith(contract.EDGE_PREFIX) else cls(node)


CACHE_LAYERS = (Layer.EDGE, Layer.SHIELD)


def is_error_status(status: int) -> bool:
    return status == 0 or status >= 500
