"""Which nodes and links a topology has, and what connects to what. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from proxies import contract


class Role(StrEnum):
    ORIGIN = "origin"
    SHIELD = "shield"
    EDGE = "edge"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    role: Role

    @property
    def module(self) -> str:
        return "proxies.origin" if self.role is Role.ORIGIN else "proxies.cdn"


@dataclass(frozen=True)
class LinkSpec:
    """A Toxiproxy proxy: traffic sent to it reaches `target`'s main port."""

    name: str
    target: str

    @property
    def proxy_name(self) -> str:
        # "->" is not safe in a URL path segment of Toxiproxy's API.
        return self.name.replace("->", "_to_")


def edge_name(pop: str) -> str:
    return f"{contract.EDGE_PREFIX}{pop}"


def client_link(pop: str) -> str:
    return f"client->{edge_name(pop)}"


def shield_link(pop: str) -> str:
    return f"{edge_name(pop)}->{contract.SHIELD_NODE}"


def pass_link(pop: str) -> str:
    return f"{edge_name(pop)}->{contract.ORIGIN_NODE}"


ORIGIN_LINK = f"{contract.SHIELD_NODE}->{contract.ORIGIN_NODE}"


def plan_nodes(pops: list[str]) -> list[NodeSpec]:
    return [
        NodeSpec(contract.ORIGIN_NODE, Role.ORIGIN),
        NodeSpec(contract.SHIELD_NODE, Role.SHIELD),
        *(NodeSpec(edge_name(pop), Role.EDGE) for pop in pops),
    ]


def plan_links(pops: list[str]) -> list[LinkSpec]:
    links = [LinkSpec(ORIGIN_LINK, contract.ORIGIN_NODE)]
    for pop in pops:
        links += [
            LinkSpec(client_link(pop), edge_name(pop)),
            LinkSpec(shield_link(pop), contract.SHIELD_NODE),
            LinkSpec(pass_link(pop), contract.ORIGIN_NODE),
        ]
    return links


def backends_of(node: NodeSpec) -> tuple[str, str] | None:
    """(link for GET/HEAD, link for POST) a CDN node sends through; None for the origin."""
    if node.role is Role.SHIELD:
        return ORIGIN_LINK, ORIGIN_LINK
    if node.role is Role.EDGE:
        pop = node.name.removeprefix(contract.EDGE_PREFIX)
        return shield_link(pop), pass_link(pop)
    return None
