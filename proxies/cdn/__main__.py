"""`python -m proxies.cdn --launch FILE`: a shield or edge node as a process."""

from __future__ import annotations

from proxies.cdn.node import CdnNode, build_sites
from proxies.contract import NodeLaunch
from proxies.serve import Served, main


async def create(launch: NodeLaunch) -> Served:
    if launch.cdn is None or not launch.upstreams or not launch.passes:
        raise SystemExit("cdn: the launch file needs cdn, upstreams and passes")
    return Served(
        build_sites(
            CdnNode(launch.name, launch.cdn, launch.upstreams, launch.passes, launch.fallbacks)
        )
    )


if __name__ == "__main__":
    main(create)
