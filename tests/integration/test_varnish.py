"""The CDN nodes as real Varnish: the generated VCL compiles, and what only Varnish does its
own way (the tests both CDN kinds share are marked `both_cdns` elsewhere)."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml
from junitparser import JUnitXml

from harness.records import files
from harness.records.run_info import RunStatus, read_run_info
from harness.topology.state import read_state
from harness.toxiproxy_api import ToxiproxyApi
from proxies.contract import BackendGauge, FetchFailure
from proxies.varnish.daemon import program
from tests.integration.conftest import FAST_ORIGIN, metric
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

            def fetch(i: int) -> httpx.Response:
                return shared.get(f"{shield}/simple/p{i}/")

            # Varnish 7.1 checks the limit and counts the new connection without one lock
            # between: fetches that start at the same instant can all pass. So the five take
            # their connections first, and the three come when Varnish counts five in flight.
            first = [pool.submit(fetch, i) for i in range(5)]
            in_flight = eventually(
                lambda: metric(client, shield, BackendGauge.BUSY_FETCHES, backend="origin-1"), 5
            )
            later = [pool.submit(fetch, i) for i in range(5, 8)]
            answers = [f.result() for f in first + later]
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
    assert in_flight == 5 and busy == 3
    assert varnish_busy == 3


def shieldlab(tmp: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "--state-dir", str(tmp / "state"), *args]


def test_the_ci_gate_passes_on_varnish_and_its_runs_say_so(tmp_path):
    junit = tmp_path / "junit.xml"
    argv = shieldlab(
        tmp_path, "gate", "ci", "--cdn", "varnish", "--junit", str(junit),
        "--out", str(tmp_path / "gate"),
    )  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    (suite,) = JUnitXml.fromfile(str(junit))
    assert all(case.is_passed for case in suite) and len(list(suite)) >= 5
    run_dir = Path({p.name: p.value for p in suite.properties()}["run_dir"])
    info = read_run_info(run_dir / files.RUN_FILE)
    assert info.status == RunStatus.COMPLETE
    assert info.topology is not None and info.topology.cdn == "varnish"


def broken_include_config(tmp_path: Path, cdn: str) -> Path:
    fragment = tmp_path / "team.vcl"
    fragment.write_text("sub vcl_recv {\n    set req.grace = 1h\n}\n")  # no semicolon
    config = tmp_path / "topology.yaml"
    config.write_text(
        yaml.safe_dump(
            {"cdn": cdn, "origin": FAST_ORIGIN, "shield": {"vcl_include": str(fragment)}}
        )
    )
    return config


def test_a_broken_vcl_include_is_refused_with_exit_2_before_anything_starts(tmp_path):
    config = broken_include_config(tmp_path, "varnish")
    result = subprocess.run(
        shieldlab(tmp_path, "up", "--config", str(config), "--detach"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(
        f"error: topology: shield.vcl_include: {tmp_path / 'team.vcl'}: the VCL does not compile: "
        "Expected ';' got '}' (line 3, column 1 of"
    )
    assert read_state(tmp_path / "state") is None
    assert not (tmp_path / "state" / "work").exists()  # nothing was started


def test_a_vcl_include_on_the_model_is_refused_with_exit_2(tmp_path):
    config = broken_include_config(tmp_path, "model")
    result = subprocess.run(
        shieldlab(tmp_path, "up", "--config", str(config), "--detach"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "shield.vcl_include: a VCL fragment needs cdn: varnish; got cdn: model" in result.stderr


def test_the_gate_passes_a_vcl_change_that_keeps_grace_and_fails_one_that_drops_it(tmp_path):
    """The shipped example of a team's VCL under the gate (`vcl_include`): while the backend is
    probed sick, a longer grace keeps pip's pages flowing; dropping grace turns them into 503s."""
    codes = {}
    for suite in ("vcl-grace", "vcl-grace-dropped"):
        argv = shieldlab(tmp_path, "gate", suite, "--out", str(tmp_path / suite))
        codes[suite] = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    kept, dropped = codes["vcl-grace"], codes["vcl-grace-dropped"]
    assert kept.returncode == 0, kept.stdout[-2000:] + kept.stderr[-2000:]
    assert dropped.returncode == 1, dropped.stdout[-2000:] + dropped.stderr[-2000:]
    assert "FAIL" in dropped.stdout and "pip keeps getting pages" in dropped.stdout


def test_bench_parity_runs_a_scenario_on_both_kinds_and_resumes_from_its_runs(tmp_path):
    out = tmp_path / "parity"
    argv = shieldlab(
        tmp_path, "bench", "--parity", "--scenario", "gate-shield-origin", "--duration", "30",
        "--no-validate", "--json", "--out", str(out),
    )  # fmt: skip
    first = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    result = json.loads(first.stdout)
    runs = result["manifest"]["runs"]["gate-shield-origin"]
    assert {
        kind: read_run_info(Path(run["run_dir"]) / files.RUN_FILE).topology.cdn
        for kind, run in runs.items()
    } == {"model": "model", "varnish": "varnish"}
    rows = result["rows"]["gate-shield-origin"]
    assert {row["phase"] for row in rows} == {"before", "during", "after"}
    errors = next(r for r in rows if r["phase"] == "during" and r["metric"] == "errors")
    assert errors["model"] == 0 and errors["varnish"] == 0 and errors["agreement"] == "within"
    assert all("shield->origin" in run["segments"] for run in runs.values())
    assert "| gate-shield-origin |" in (out / "parity.md").read_text()
    again = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "on model:" not in again.stderr  # nothing run again
    assert json.loads(again.stdout)["manifest"] == result["manifest"]
