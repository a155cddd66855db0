"""Before a Varnish topology starts: are Varnish's programs here, and does each node's VCL,
with a team's `vcl_include`, compile? Both refuse in one line (exit 3 and 2)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from harness.errors import BadInput, InfrastructureError
from harness.scenario import topology_plan as plan
from harness.scenario.topology import CdnKind, TopologyConfig, scaled_cdn
from proxies.contract import CdnNodeSettings, NodeLaunch
from proxies.varnish.daemon import program

# The programs a Varnish CDN needs, all from Debian's `varnish` (xkey and var come from
# `varnish-modules`; without them the nodes' VCL does not compile, and the node says so).
VARNISH_PROGRAMS = ("varnishd", "varnishadm", "varnishstat", "varnishncsa", "varnishlog")
VARNISH_HINT = (
    "the varnish CDN needs Debian's varnish and varnish-modules: run `make system-packages` "
    "as root, or use --cdn model"
)


def require_varnish() -> None:
    """Refuse a Varnish topology where Varnish is not installed (exit 3). The programs are
    looked for as the nodes look for them (`proxies.varnish.daemon.program`)."""
    for name in VARNISH_PROGRAMS:
        try:
            program(name)
        except FileNotFoundError:
            raise InfrastructureError(f"{name} not found: {VARNISH_HINT}") from None


def with_include_resolved(settings: CdnNodeSettings) -> CdnNodeSettings:
    """A relative `vcl_include` is the current directory's: the node runs elsewhere."""
    if settings.vcl_include is None:
        return settings
    return settings.model_copy(update={"vcl_include": str(Path(settings.vcl_include).resolve())})


def check_vcl(config: TopologyConfig) -> None:
    """Each CDN node's VCL, with a team's fragment if it has one, is compiled before anything
    starts (`varnishd -C`, run by the node program): refused in one line, exit 2."""
    for node in plan.plan_nodes(config.edges[:1]):
        if node.role is plan.Role.ORIGIN:
            continue
        settings = config.shield if node.role is plan.Role.SHIELD else config.edge
        where = f"topology: {node.role.value}.vcl_include"
        if config.cdn is not CdnKind.VARNISH:
            if settings.vcl_include is None:
                continue
            raise BadInput(
                f"{where}: a VCL fragment needs cdn: varnish; got cdn: {config.cdn.value} "
                "(add --cdn varnish)"
            )
        if settings.vcl_include is not None and not Path(settings.vcl_include).is_file():
            raise BadInput(f"{where}: no such file; got {settings.vcl_include}")
        if settings.vcl_include is None:
            where = f"topology: {node.role.value}"  # the lab's own VCL, from these settings
        # The node's VCL as it will run: lifetimes and grace compressed as the launcher does.
        settings = scaled_cdn(settings, config.time_scale)
        backends = plan.backends_of(node, config.origin.web_nodes, config.origin.static_mirror)
        assert backends is not None
        unrouted = "http://127.0.0.1:9"  # compiling needs addresses, not servers
        launch = NodeLaunch(
            name=node.name,
            cdn=with_include_resolved(settings),
            upstreams=dict.fromkeys(backends.fill, unrouted),
            passes=dict.fromkeys(backends.passes, unrouted),
            fallbacks=dict.fromkeys(backends.fallback, unrouted),
            ready_file="/dev/null",
        )
        with tempfile.TemporaryDirectory(prefix="shieldlab-check-") as work:
            path = Path(work) / "launch.json"
            path.write_text(launch.model_dump_json())
            argv = [sys.executable, "-m", "proxies.varnish", "--check", str(path)]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        if done.returncode == 2:
            raise BadInput(f"{where}: {message}")
        if done.returncode != 0:
            raise InfrastructureError(f"{where}: could not be checked: {message}")
