"""VCL for a CDN node as a real Varnish, generated from the same `CdnNodeSettings` (and the
same backends) the Python model of that node runs on. Pure: text in, text out.

The template (`node.vcl`) holds the logic; this module fills in what the settings decide:
backends with their timeouts, limits and probes, the directors, grace, the per-path lifetimes,
the reason rules of a failed fetch, and the node's name in its headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from proxies import contract
from proxies.cdn.cache import CACHEABLE_STATUSES  # one list: the model's
from proxies.contract import (
    BackendSettings,
    CdnNodeSettings,
    FetchFailure,
    NodeLaunch,
    ProbeSettings,
)
from proxies.varnish.reasons import REASON_VAR, reason_vcl, vcl_real

TEMPLATE = Path(__file__).with_name("node.vcl")
# How long a failed fetch's 503 is kept, so the requests waiting on that fetch share it (in
# Varnish 7 they would otherwise fetch again one after another). A Varnish artefact, not a
# number of the real system: the shortest TTL that still reaches the waiters.
FAILED_FETCH_TTL_S = 1.0
# The largest POST body kept for a retry: XML-RPC calls and uploads in the lab are far smaller.
PASS_BODY_KEPT = "10MB"
# How long an uncacheable answer marks its object "do not wait on a fetch" (hit-for-miss).
UNCACHEABLE_TTL_S = 1.0
STORED_HEADER = "X-Shieldlab-Stored"  # when the object was stored: tells a waiter from a hit


def duration(seconds: float) -> str:
    """A VCL duration literal (to the millisecond: VCL takes at most 3 decimals)."""
    return f"{vcl_real(seconds)}s"


def identifier(name: str) -> str:
    """A lab name ("origin-1") as a VCL identifier ("origin_1")."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def long_string(text: str) -> str:
    """A VCL long string: anything but the closing brace-quote is taken as it is."""
    if '"}' in text:
        raise ValueError(f"cannot be written as a VCL string: {text!r}")
    return '{"' + text + '"}'


@dataclass(frozen=True)
class VclBackend:
    name: str  # the lab's name: "origin-1", "shield", "mirror"
    host: str
    port: int
    settings: BackendSettings


@dataclass(frozen=True)
class VclPlan:
    """Everything the VCL of one node depends on."""

    node: str
    settings: CdnNodeSettings
    backends: tuple[VclBackend, ...]
    fill: tuple[str, ...]
    passes: tuple[str, ...]
    fallback: tuple[str, ...]
    metrics_host: str
    metrics_port: int
    include: Path | None = None


def plan_for(launch: NodeLaunch, metrics_port: int) -> VclPlan:
    """The node's backends as the model has them: a backend named twice (the shield's web
    nodes, fill and pass) is one backend, with the settings of its first role."""
    if launch.cdn is None:
        raise ValueError(f"{launch.name}: a Varnish node needs cdn settings")
    settings = launch.cdn
    include = Path(settings.vcl_include) if settings.vcl_include else None
    backends: dict[str, VclBackend] = {}
    for urls, backend_settings in (
        (launch.upstreams, settings.backend),
        (launch.passes, settings.pass_backend),
        (launch.fallbacks, settings.fallback_backend),
    ):
        for name, url in urls.items():
            where = urlsplit(url)
            if where.hostname is None or where.port is None:
                raise ValueError(f"{launch.name}: backend {name}: no host:port in {url!r}")
            backends.setdefault(
                name, VclBackend(name, where.hostname, where.port, backend_settings)
            )
    return VclPlan(
        node=launch.name,
        settings=settings,
        backends=tuple(backends.values()),
        fill=tuple(launch.upstreams),
        passes=tuple(launch.passes),
        fallback=tuple(launch.fallbacks),
        # The node's own metrics server: on loopback when the node listens everywhere.
        metrics_host="127.0.0.1" if launch.host in ("0.0.0.0", "::") else launch.host,
        metrics_port=metrics_port,
        include=include,
    )


def _probe(probe: ProbeSettings) -> list[str]:
    return [
        "    .probe = {",
        f'        .url = "{probe.path}";',
        f"        .interval = {duration(probe.interval_s)};",
        f"        .timeout = {duration(probe.timeout_s)};",
        f"        .window = {probe.window};",
        f"        .threshold = {probe.threshold};",
        f"        .initial = {probe.initial};",
        "    }",
    ]


def _backend(backend: VclBackend) -> str:
    s = backend.settings
    lines = [
        f"backend {identifier(backend.name)} {{",
        f'    .host = "{backend.host}";',
        f'    .port = "{backend.port}";',
        f"    .connect_timeout = {duration(s.connect_timeout_s)};",
        f"    .first_byte_timeout = {duration(s.first_byte_timeout_s)};",
        f"    .between_bytes_timeout = {duration(s.between_bytes_timeout_s)};",
        f"    .max_connections = {s.max_connections};",
        *(_probe(s.probe) if s.probe is not None else []),
        "}",
    ]
    return "\n".join(lines)


def _random(name: str, members: tuple[str, ...]) -> list[str]:
    lines = [f"    new {name} = directors.random();"]
    lines += [f"    {name}.add_backend({identifier(m)}, 1);" for m in members]
    return lines


def _directors(plan: VclPlan) -> str:
    """Fill: random over the fill backends, then (all sick) random over the fallbacks, as the
    model's director. Passes: random over the pass backends."""
    lines = _random("fill_primary", plan.fill)
    tiers = ["fill_primary"]
    if plan.fallback:
        lines += _random("fill_fallback", plan.fallback)
        tiers.append("fill_fallback")
    lines.append("    new fill = directors.fallback();")
    lines += [f"    fill.add_backend({tier}.backend());" for tier in tiers]
    lines += _random("passes", plan.passes)
    return "\n".join(lines)


def _ttl_rules(settings: CdnNodeSettings) -> str:
    """The model's lifetimes: every 404 lives `not_found_ttl_s`; other cacheable statuses the
    first matching path rule's; anything else is not stored."""
    cacheable = " || ".join(f"beresp.status == {status}" for status in sorted(CACHEABLE_STATUSES))
    uncacheable = f"set beresp.uncacheable = true; set beresp.ttl = {duration(UNCACHEABLE_TTL_S)};"
    lines = [
        "    if (beresp.status == 404) {",
        f"        set beresp.ttl = {duration(settings.not_found_ttl_s)};",
        f"    }} elsif (!({cacheable})) {{",
        f"        {uncacheable}",
    ]
    for rule in settings.cache_rules:
        lines.append(f'    }} elsif (var.get("path") ~ {long_string(rule.path_regex)}) {{')
        lines.append(f"        set beresp.ttl = {duration(rule.ttl_s)};")
    lines += ["    } else {", f"        {uncacheable}", "    }"]
    lines += ["    if (beresp.ttl <= 0s) {", f"        {uncacheable}", "    }"]
    return "\n".join(lines)


def _reasons(settings: CdnNodeSettings) -> str:
    return "\n".join(
        [
            '    if (bereq.method == "POST") {',
            reason_vcl(settings.pass_backend, "        "),
            "    } else {",
            reason_vcl(settings.backend, "        "),
            "    }",
        ]
    )


def _retry(settings: CdnNodeSettings) -> str:
    """Varnish 2.1's silent retry of a first-byte timeout, as VCL (7.1 no longer retries it).

    2.1 fetched once more when a reused connection failed before the first byte; VCL cannot
    tell a reused connection from a new one, so every first-byte timeout is tried once more
    (between POPs and to the origin the pools are kept open: most fetches reuse one)."""
    methods = {
        '!(bereq.method == "POST")': settings.backend.retry_reused,
        'bereq.method == "POST"': settings.pass_backend.retry_reused,
    }
    wanted = [condition for condition, retried in methods.items() if retried]
    if not wanted:
        return ""
    reason = f'var.get("{REASON_VAR}") == "{FetchFailure.FIRST_BYTE_TIMEOUT.value}"'
    parts = ["bereq.retries == 0", reason]
    if len(wanted) == 1:
        parts.append(wanted[0])
    return "\n".join(
        [
            "    # Varnish 2.1's silent retry: once more after a first-byte timeout.",
            f"    if ({' && '.join(parts)}) {{",
            "        return (retry);",
            "    }",
        ]
    )


def _keep_pass_body(settings: CdnNodeSettings) -> str:
    """A POST's body kept, so that the retry can send it again (7.1 refuses a retry of a
    body it did not keep: "Retry not possible, req.body not cached")."""
    if not settings.pass_backend.retry_reused:
        return ""
    return f"        std.cache_req_body({PASS_BODY_KEPT});"


def _health_backends(plan: VclPlan) -> str:
    """A VCL expression: `"origin-1": true, "origin-2": false` from each backend's probe."""
    parts = []
    for index, backend in enumerate(plan.backends):
        separator = ", " if index else ""
        parts.append(
            f'{{"{separator}"{backend.name}": "}} + std.healthy({identifier(backend.name)})'
        )
    return " + ".join(parts) if parts else '""'


def render(plan: VclPlan) -> str:
    settings = plan.settings
    grace_kept = max(settings.grace_healthy_s, settings.grace_sick_s)
    include = f'include "{plan.include.resolve()}";' if plan.include is not None else ""
    return Template(TEMPLATE.read_text()).substitute(
        node=plan.node,
        backends="\n\n".join(_backend(b) for b in plan.backends) + "\n",
        metrics_host=plan.metrics_host,
        metrics_port=plan.metrics_port,
        directors=_directors(plan),
        include=include,
        admin_prefix=contract.ADMIN_PREFIX,
        health_path=contract.HEALTH_PATH,
        metrics_path=contract.METRICS_PATH,
        grace_healthy=duration(settings.grace_healthy_s),
        grace_sick=duration(settings.grace_sick_s),
        grace_kept=duration(grace_kept),
        json_accept=re.escape(contract.PEP691_JSON),
        ttl_rules=_ttl_rules(settings),
        reasons=_reasons(settings),
        retry=_retry(settings),
        keep_pass_body=_keep_pass_body(settings),
        failed_fetch_ttl=duration(FAILED_FETCH_TTL_S),
        health_backends=_health_backends(plan),
        stored_header=STORED_HEADER,
        surrogate_key_header=contract.HEADER_SURROGATE_KEY,
        error_node_header=contract.HEADER_ERROR_NODE,
        error_reason_header=contract.HEADER_ERROR_REASON,
        served_by_header=contract.HEADER_SERVED_BY,
        cache_header=contract.HEADER_CACHE,
        cache_hits_header=contract.HEADER_CACHE_HITS,
        timer_header=contract.HEADER_TIMER,
    )
