"""Which nodes and links a topology has, and what connects to what. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from harness.scenario.topology import CdnKind
from proxies import contract

MAIN_PORT = "port"  # the name of a node's main port in its ready file


class Role(StrEnum):
    ORIGIN = "origin"
    SHIELD = "shield"
    EDGE = "edge"


@dataclass(frozen=True)
class NodeSpec:
    name: str
    role: Role

    def module(self, cdn: CdnKind = CdnKind.MODEL) -> str:
        """The node program: the origin, or a CDN node as the model or as a real Varnish."""
        if self.role is Role.ORIGIN:
            return "proxies.origin"
        return "proxies.varnish" if cdn is CdnKind.VARNISH else "proxies.cdn"


@dataclass(frozen=True)
class LinkSpec:
    """A Toxiproxy proxy: traffic sent to it reaches the `port_name` port of node `target`
    (a web node's own port on the origin, or a node's main port)."""

    name: str
    target: str
    port_name: str = MAIN_PORT

    @property
    def proxy_name(self) -> str:
        # "->" is not safe in a URL path segment of Toxiproxy's API.
        return self.name.replace("->", "_to_")

    @property
    def group(self) -> str:
        """The name the link also answers to: `shield->origin` for `shield->origin-2`, so a
        scenario that names the origin means every web node."""
        return link_group(self.name)


@dataclass(frozen=True)
class Backends:
    """What a CDN node sends through: backend name -> link, for GET/HEAD and for POSTs, and
    where GET/HEAD fall back to when every fill backend is sick."""

    fill: dict[str, str]
    passes: dict[str, str]
    fallback: dict[str, str] = field(default_factory=dict)


def edge_name(pop: str) -> str:
    return f"{contract.EDGE_PREFIX}{pop}"


def client_link(pop: str) -> str:
    return f"client->{edge_name(pop)}"


def shield_link(pop: str) -> str:
    return f"{edge_name(pop)}->{contract.SHIELD_NODE}"


def pass_link(pop: str) -> str:
    """The group of an edge's links straight to the origin's web nodes (POSTs)."""
    return f"{edge_name(pop)}->{contract.ORIGIN_NODE}"


ORIGIN_LINK = f"{contract.SHIELD_NODE}->{contract.ORIGIN_NODE}"  # the group: every web node
# Its own network: a fault on the backend's links does not reach the mirror's data centre.
MIRROR_LINK = f"{contract.SHIELD_NODE}->{contract.STATIC_MIRROR}"
_WEB_LINK = re.compile(rf"^(?P<group>.+->{contract.ORIGIN_NODE})-\d+$")


def web_link(group: str, web_node: str) -> str:
    """`shield->origin` + `origin-2` -> `shield->origin-2`."""
    return f"{group}{web_node.removeprefix(contract.ORIGIN_NODE)}"


def link_group(name: str) -> str:
    match = _WEB_LINK.match(name)
    return match.group("group") if match else name


def plan_nodes(pops: list[str]) -> list[NodeSpec]:
    return [
        NodeSpec(contract.ORIGIN_NODE, Role.ORIGIN),
        NodeSpec(contract.SHIELD_NODE, Role.SHIELD),
        *(NodeSpec(edge_name(pop), Role.EDGE) for pop in pops),
    ]


def _web_links(group: str, web_nodes: int) -> list[LinkSpec]:
    return [
        LinkSpec(web_link(group, web), contract.ORIGIN_NODE, web)
        for web in contract.web_node_names(web_nodes)
    ]


def plan_links(pops: list[str], web_nodes: int, static_mirror: bool = False) -> list[LinkSpec]:
    links = _web_links(ORIGIN_LINK, web_nodes)
    if static_mirror:
        links.append(LinkSpec(MIRROR_LINK, contract.ORIGIN_NODE, contract.STATIC_MIRROR))
    for pop in pops:
        links += [
            LinkSpec(client_link(pop), edge_name(pop)),
            LinkSpec(shield_link(pop), contract.SHIELD_NODE),
            *_web_links(pass_link(pop), web_nodes),
        ]
    return links


def backends_of(node: NodeSpec, web_nodes: int, static_mirror: bool = False) -> Backends | None:
    """The backends a CDN node sends through; None for the origin. Only the shield falls back
    to the static mirror: the edges' fill backend is the shield."""
    if node.role is Role.SHIELD:
        webs = {web: web_link(ORIGIN_LINK, web) for web in contract.web_node_names(web_nodes)}
        mirror = {contract.STATIC_MIRROR: MIRROR_LINK} if static_mirror else {}
        return Backends(fill=webs, passes=webs, fallback=mirror)
    if node.role is Role.EDGE:
        pop = node.name.removeprefix(contract.EDGE_PREFIX)
        webs = {web: web_link(pass_link(pop), web) for web in contract.web_node_names(web_nodes)}
        return Backends(fill={contract.SHIELD_NODE: shield_link(pop)}, passes=webs)
    return None
