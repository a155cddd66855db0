"""mitmproxy taps on links, for real: per-request HTTP faults through the real CDN nodes."""

import os
import socket
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import InfrastructureError
from harness.faults.http import PutTapRule, TapBackend
from harness.records import files
from harness.records.events import FaultApplied, read_events
from harness.records.request import read_requests
from harness.records.summary import WindowPhase
from harness.scenario import topology_plan as plan
from harness.scenario.traffic import Layer, TrafficClass
from harness.tap.rules import Match, Rule
from harness.topology.processes import pid_alive
from harness.topology.taps import start_taps
from proxies import contract
from proxies.contract import EndpointClass, FetchFailure
from tests.integration.conftest import shieldlab_run, window


def requests_during(run_dir, step):
    """The requests meant to start while `step` was on."""
    on = window(run_dir, WindowPhase.DURING, step)
    records = read_requests(run_dir / files.REQUESTS_FILE)
    return [r for r in records if on.start_s <= r.intended_s < on.end_s]


def test_http_status_503_on_xmlrpc_fails_the_mirrors_calls_while_pip_stays_clean(tmp_path):
    run_dir = shieldlab_run(tmp_path, "xmlrpc-503")
    during = requests_during(run_dir, "xmlrpc 503")
    xmlrpc = [r for r in during if r.endpoint == EndpointClass.XMLRPC]
    injected = [r for r in xmlrpc if r.status == 503 and r.error_layer == Layer.TAP]
    assert len(xmlrpc) >= 10
    assert len(injected) >= 0.9 * len(xmlrpc)  # a call sent just before the step may pass
    pip = [r for r in during if r.traffic == TrafficClass.PIP]
    assert len(pip) > 50 and not any(r.is_error for r in pip)
    assert not any(r.is_error for r in during if r.endpoint != EndpointClass.XMLRPC)
    assert window(run_dir, WindowPhase.BEFORE).errors_by_layer == {}
    applied = [e for e in read_events(run_dir / files.EVENTS_FILE) if isinstance(e, FaultApplied)]
    assert [sorted(e.links) for e in applied] == [
        [f"edge-{pop}->origin-{i}" for pop in ("ams", "iad", "sjc") for i in (1, 2)]
    ]


def test_http_delay_on_xmlrpc_slows_the_mirrors_only(tmp_path):
    run_dir = shieldlab_run(tmp_path, "xmlrpc-delay")
    during = requests_during(run_dir, "xmlrpc delay")
    xmlrpc = [r.latency_ms for r in during if r.endpoint == EndpointClass.XMLRPC]
    assert len(xmlrpc) >= 5 and statistics.median(xmlrpc) >= 2000  # the step's 2 s
    before = window(run_dir, WindowPhase.BEFORE)
    delayed = window(run_dir, WindowPhase.DURING, "xmlrpc delay")
    assert delayed.latency[TrafficClass.MIRROR].p95_ms >= 2000
    assert before.latency[TrafficClass.MIRROR].p95_ms < 1000
    pip_before = before.latency[TrafficClass.PIP].p95_ms
    pip_during = delayed.latency[TrafficClass.PIP].p95_ms
    assert pip_during < max(3 * pip_before, 300)  # untouched: GETs never pass the tapped links
    assert delayed.error_ratio == 0


def test_abort_and_first_n_act_per_request_through_the_real_cdn(up, client):
    tapped = plan.web_link(plan.ORIGIN_LINK, "origin-1")
    with up({"origin": {"web_nodes": 1}}, taps=[tapped]) as state:
        link = state.links[tapped]
        assert link.tap is not None and link.tap_url is not None
        taps = TapBackend()
        abort = Rule(name="abort", action="abort", match=Match("GET", "/simple/*"), first_n=1)
        status = Rule(
            name="502",
            action="status",
            status=502,
            match=Match(path="/pypi/*/json"),
            first_n=2,
            answer_headers=[(contract.HEADER_ERROR_NODE, contract.TAP_NODE)],
        )
        for rule in (abort, status):
            taps.apply(PutTapRule(tapped, link.tap_url, rule))
        edge = state.client_url("iad")
        cut = client.get(f"{edge}/simple/no-such-project/")
        # The shield's fetch was cut halfway through the body: its own 503, "backend read error".
        assert cut.status_code == 503
        assert cut.headers[contract.HEADER_ERROR_NODE] == contract.SHIELD_NODE
        assert cut.headers[contract.HEADER_ERROR_REASON] == FetchFailure.READ_ERROR.value
        assert client.get(f"{edge}/simple/").status_code == 200  # first_n=1: spent
        statuses = [client.get(f"{edge}/pypi/p{i}/json").status_code for i in range(4)]
        assert statuses[:2] == [502, 502] and 502 not in statuses[2:]
        counts = taps.counts(link.tap_url)
        assert counts["abort"]["fired"] == 1 and counts["502"] == {"matched": 4, "fired": 2}
        taps.remove(PutTapRule(tapped, link.tap_url, status))
        assert set(taps.counts(link.tap_url)) == {"abort"}
        taps.close()


def test_a_tapped_run_without_mitmdump_is_one_line_exit_3_and_starts_nothing(tmp_path):
    env = {**os.environ, "SHIELDLAB_MITMDUMP": "/nonexistent/mitmdump"}
    argv = [sys.executable, "-m", "harness.cli", "--state-dir", str(tmp_path / "state")]
    argv += ["run", "xmlrpc-503", "--out", str(tmp_path / "results")]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "error: scenario 'xmlrpc-503' taps links: SHIELDLAB_MITMDUMP=/nonexistent/mitmdump: not "
        "an executable file; unset it to use the project's own, or point it at a mitmdump binary"
    ]
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
    assert not (tmp_path / "state" / "topology.json").exists()


def test_a_tap_on_a_taken_port_refuses_with_one_line_and_leaves_nothing_running(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        before = set(os.listdir("/proc"))
        with pytest.raises(InfrastructureError) as error:
            start_taps({"shield->origin": "127.0.0.1:9"}, tmp_path, tmp_path / "cache", port=port)
    message = str(error.value)
    assert message.startswith("the tap on shield->origin did not start:")
    assert "address already in use" in message and "\n" not in message
    started = [p for p in set(os.listdir("/proc")) - before if p.isdigit()]
    assert not [p for p in started if pid_alive(int(p)) and not _kernel_thread(p)]


def _kernel_thread(pid: str) -> bool:
    """The kernel starts its own workers at any moment (kworker, empty command line): not ours."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes() == b""
    except OSError:
        return True  # gone already
