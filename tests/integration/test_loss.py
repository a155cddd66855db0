"""Real packet loss (CI runs as root): the kernel drops the asked share of a link's packets,
TCP turns it into tail latency, and no namespace or rule outlives a run, however it ends."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.analysis.windows import percentile
from harness.faults.loss import drop_fraction
from harness.records import files
from harness.records.request import read_requests
from harness.records.run_info import RunStatus, read_run_info
from harness.records.samples import DROPPED, LOSS_METRIC, LOSS_NODE, SEEN, read_samples
from harness.topology import netns
from harness.topology.state import read_state
from proxies.contract import CacheState

ASKED = 0.2


def shieldlab(tmp: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "--state-dir", str(tmp / "state"), *args]


def our_namespaces() -> list[str]:
    return netns.names()


def host_has_loss_chain() -> bool:
    listing = subprocess.run(["iptables", "-w", "-S"], capture_output=True, text=True).stdout
    return "SHIELDLAB" in listing


@pytest.fixture(scope="module")
def loss_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("loss")
    argv = shieldlab(
        tmp, "run", "shield-origin-loss", "--duration", "45", "--out", str(tmp / "results")
    )
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return Path(result.stdout.strip().splitlines()[-1])


def test_loss_makes_shield_misses_slow_in_the_tail_and_leaves_edge_hits_alone(loss_run):
    records = read_requests(loss_run / files.REQUESTS_FILE)
    start, end = 20 * 45 / 90, 70 * 45 / 90
    during = [r for r in records if start <= r.intended_s < end]
    misses = [
        r.latency_ms
        for r in during
        if r.shield_cache == CacheState.MISS and r.edge_cache == CacheState.MISS
    ]
    hits = [r.latency_ms for r in during if r.edge_cache == CacheState.HIT and r.status == 200]
    assert len(misses) > 30 and len(hits) > 30
    assert percentile(misses, 0.99) > 200  # retransmissions: at least 200 ms each
    assert percentile(hits, 0.95) < 250  # answered by the edge: never crosses the lossy link
    assert read_run_info(loss_run / files.RUN_FILE).status == RunStatus.COMPLETE


def test_the_rule_counters_show_the_asked_fraction(loss_run):
    last: dict[tuple[str, str], float] = {}
    for sample in read_samples(loss_run / files.SAMPLES_FILE):
        if sample.node == LOSS_NODE and sample.metric == LOSS_METRIC:
            labels = sample.label_map
            last[(labels["direction"], labels["count"])] = sample.value
    assert last, "no loss counters were scraped"
    seen = last[("upstream", SEEN)] + last[("downstream", SEEN)]
    dropped = last[("upstream", DROPPED)] + last[("downstream", DROPPED)]
    assert seen > 500
    fraction = drop_fraction(int(seen), int(dropped))
    sigma = (ASKED * (1 - ASKED) / seen) ** 0.5
    assert abs(fraction - ASKED) <= max(0.1 * ASKED, 3 * sigma), (seen, dropped)


def test_nothing_of_the_namespace_outlives_the_run(loss_run):
    assert our_namespaces() == []
    assert not host_has_loss_chain()  # the rules lived in the run's namespace, never the host's


def _start_loss_run(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    results = tmp_path / "results"
    argv = shieldlab(
        tmp_path, "run", "shield-origin-loss", "--duration", "60", "--out", str(results)
    )
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list(results.glob(".*.partial/events.jsonl"))
        if found and '"fault_applied"' in found[0].read_text():
            return process, results
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.2)
    process.kill()
    raise AssertionError("the loss fault was never applied")


def test_ctrl_c_removes_the_namespace_and_its_rules(tmp_path):
    process, _ = _start_loss_run(tmp_path)
    try:
        assert len(our_namespaces()) == 1
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert our_namespaces() == []


def test_after_kill_9_the_next_command_removes_the_namespace_and_says_so(tmp_path):
    process, _ = _start_loss_run(tmp_path)
    try:
        (left,) = our_namespaces()
        state = read_state(tmp_path / "state")
        process.kill()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert state is not None
    deadline = time.monotonic() + 10
    while (
        any(os.path.exists(f"/proc/{pid}") for pid in state.pids()) and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert our_namespaces() == [left]  # a kill -9 runs no clean-up of its own ...
    down = subprocess.run(
        shieldlab(tmp_path, "down", "--results", str(tmp_path / "results")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert down.returncode == 0, down.stderr
    assert f"removed network namespace {left}" in down.stderr  # ... the next command does
    assert our_namespaces() == []


def test_without_the_privilege_a_loss_run_is_refused_before_any_node_starts(tmp_path):
    drop = ["setpriv", "--inh-caps=-net_admin,-sys_admin", "--bounding-set=-net_admin,-sys_admin"]
    argv = [
        *drop,
        *shieldlab(tmp_path, "run", "shield-origin-loss", "--out", str(tmp_path / "results")),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "packet loss needs CAP_NET_ADMIN and CAP_SYS_ADMIN (run as root)" in line
    assert not (tmp_path / "state").exists() and not (tmp_path / "results").exists()


def test_diagnose_names_the_lossy_link_from_records_alone(loss_run):
    from harness.analysis.diagnose import diagnose

    result = diagnose(loss_run)
    assert result.segments == ["shield->origin"], result.findings
    (finding,) = result.findings
    assert 6 <= finding.onset_s <= 16 and 30 <= finding.end_s <= 40  # the loss is at 10..35 s


def test_loss_stretches_a_many_megabyte_file_and_barely_moves_a_one_segment_page(tmp_path):
    import sqlite3
    import statistics

    import httpx

    from harness.faults.loss import DropPackets, LossBackend
    from harness.scenario.steps import Direction
    from harness.scenario.topology import load_topology
    from harness.topology.supervisor import topology_up

    config = load_topology(
        None, {"origin": {"web_nodes": 1, "projects": 40, "journal_rows": 100_000}}
    )
    link = "shield->origin-1"
    with netns.own_namespace(), topology_up(config, tmp_path / "state", lambda _m: None) as state:
        db = sqlite3.connect(Path(state.work_dir) / "origin.sqlite")
        big, size = db.execute("SELECT path, size FROM files ORDER BY size DESC LIMIT 1").fetchone()
        (name,) = db.execute("SELECT name FROM projects LIMIT 1").fetchone()
        db.close()
        shield = state.nodes["shield"].url
        client = httpx.Client(timeout=60, trust_env=False)

        def times_ms(path: str, count: int, salt: str) -> list[float]:
            out = []
            for i in range(count):  # a new query string each time: a shield miss
                started = time.perf_counter()
                assert client.get(f"{shield}{path}?{salt}{i}").status_code == 200
                out.append((time.perf_counter() - started) * 1000)
            return out

        page = f"/simple/{name}/"
        file_before, page_before = times_ms(big, 15, "b"), times_ms(page, 30, "b")
        loss = LossBackend()
        change = DropPackets(link, state.links[link].port, Direction.BOTH, 0.1)
        loss.apply(change)
        try:
            file_during, page_during = times_ms(big, 15, "l"), times_ms(page, 30, "l")
        finally:
            loss.remove(change)
        client.close()
    assert size > 1_000_000  # the heavy tail of file sizes: thousands of segments
    # Every transfer of thousands of segments loses some (fast retransmits, a shrunk window),
    # so the file's median moves; most one-segment pages lose nothing, so theirs does not
    # (the few that do wait a whole retransmission timeout: the tail, not the median).
    file_growth = statistics.mean(file_during) - statistics.mean(file_before)
    page_growth = statistics.median(page_during) - statistics.median(page_before)
    assert file_growth > 15, (file_before, file_during)
    assert page_growth < 10, (page_before, page_during)
