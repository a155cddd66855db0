"""The CDN nodes as real Varnish: the generated VCL compiles, and what only Varnish does its
own way (the tests both CDN kinds share are marked `both_cdns` elsewhere)."""

from __future__ import annotations

import concurrent.futures
import subprocess
from pathlib import Path
from typing import Any

import httpx

from harness.toxiproxy_api import ToxiproxyApi
from proxies.contract import FetchFailure
from proxies.varnish.daemon import program
from tests.integration.conftest import metric
from tests.integration.test_cdn_model import eventually, slow

GOLDEN = Path(__file__).parents[1] / "golden"


def test_the_golden_vcl_files_compile_with_varnishd(tmp_path):
    goldens = sorted(GOLDEN.glob("*.vcl"))
    assert len(goldens) == 2
    for golden in goldens:
        compiled = subprocess.run(
            [program("varnishd"), "-C", "-f", str(golden), "-n", str(tmp_path / golden.stem)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert compiled.returncode == 0, f"{golden.name}: {compiled.stderr[-1500:]}"


def test_at_max_connections_varnish_fails_the_fetch_at_once_and_counts_it_busy(up, client):
    overrides: dict[str, Any] = {
        "cdn": "varnish",
        "origin": {"web_nodes": 1},
        "shield": {"backend": {"probe": None, "max_connections": 5}},
    }
    with up(overrides) as state:
        shield = state.nodes["shield"].url
        api = ToxiproxyApi(state.toxiproxy.api)
        slow(api, state.links["shield->origin-1"].proxy, 2000)
        limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
        with (
            httpx.Client(timeout=30, trust_env=False, limits=limits) as shared,
            concurrent.futures.ThreadPoolExecutor(8) as pool,
        ):
            answers = list(pool.map(lambda i: shared.get(f"{shield}/simple/p{i}/"), range(8)))
        busy = eventually(
            lambda: metric(
                client,
                shield,
                "shieldlab_upstream_errors_total",
                reason=FetchFailure.BACKEND_BUSY.value,
            ),
            3,
        )
        varnish_busy = metric(client, shield, "shieldlab_varnish_backend_busy_total")
        api.close()
    failed = [a for a in answers if a.status_code == 503]
    fetched = [a for a in answers if a.status_code != 503]
    assert len(fetched) == 5 and all(a.elapsed.total_seconds() >= 1.9 for a in fetched)
    assert len(failed) == 3 and all(a.elapsed.total_seconds() < 1.0 for a in failed)
    # VCL cannot tell a busy backend from a reset one: the header says so; the counter, read
    # from Varnish's own FetchError, knows (the README's differences).
    assert {a.headers["X-Shieldlab-Error-Reason"] for a in failed} == {
        FetchFailure.READ_ERROR.value
    }
    assert busy == 3
    assert varnish_busy == 3
