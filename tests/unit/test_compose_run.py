"""Compose mode's pure parts: what a sweep removes, the Locust master's config, the plan the
containers get, and the state the harness builds from the containers."""

from pathlib import Path

from harness.compose.images import source_digest
from harness.compose.locust import container_plan, master_config
from harness.compose.project import Labelled, left_behind, owners
from harness.compose.spec import RUN_MOUNT
from harness.load.driver import locust_argv, locust_options
from harness.load.plan import build_plan
from harness.records import files
from harness.scenario.model import load_scenario

LIVE, KILLED = 100, 200


def alive(pid: int) -> bool:
    return pid == LIVE


FOUND = [
    Labelled("network", "shieldlab_n-origin", KILLED),
    Labelled("container", "shieldlab-origin-1", KILLED),
    Labelled("container", "shieldlab-shield-1", LIVE),
    Labelled("volume", "shieldlab_data", None),
    Labelled("network", "shieldlab_clients", LIVE),
]


def test_a_sweep_removes_what_killed_harnesses_left_containers_first_and_spares_live_runs():
    removed = left_behind(FOUND, alive)
    assert [(i.kind, i.name) for i in removed] == [
        ("container", "shieldlab-origin-1"),
        ("network", "shieldlab_n-origin"),
        ("volume", "shieldlab_data"),  # no owner: not a run's, the label says it is ours
    ]
    assert owners(FOUND, alive) == {LIVE}


def test_a_sweep_of_everything_removes_live_runs_too():
    assert len(left_behind(FOUND, lambda _pid: False)) == len(FOUND)


def plan_of(scenario_name: str):
    scenario = load_scenario(scenario_name)
    pops = {pop: f"http://toxiproxy:{20001 + i}" for i, pop in enumerate(scenario.topology.edges)}
    return build_plan(scenario, pops, ["a", "b"], Path("/host/run/requests.csv"), 10)


def test_containers_write_records_into_the_mounted_run_directory_and_share_the_rate():
    plan = container_plan(plan_of("shield-origin-latency"), workers=3)
    assert plan.records_path == f"{RUN_MOUNT}/{files.REQUESTS_FILE}"
    assert plan.processes == 3


def test_the_master_config_holds_local_modes_options_and_waits_for_every_worker():
    plan = container_plan(plan_of("shield-origin-latency"), workers=2)
    config = dict(line.split(" = ", 1) for line in master_config(plan, 10.0).splitlines() if line)
    options = locust_options(plan, 10.0)
    assert {k: config[k] for k in options} == options
    assert config["master"] == "true" and config["expect-workers"] == "2"
    assert config["locustfile"] == "/app/locustfile.py"  # where the Dockerfile copies it
    argv = locust_argv(plan, 10.0)
    assert "--headless" in argv and argv[argv.index("--users") + 1] == options["users"]


def test_the_source_digest_follows_the_sources(tmp_path: Path):
    (tmp_path / "harness").mkdir()
    (tmp_path / "proxies").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "harness" / "a.py").write_text("x = 1\n")
    before = source_digest(tmp_path)
    assert source_digest(tmp_path) == before
    (tmp_path / "harness" / "a.py").write_text("x = 2\n")
    assert source_digest(tmp_path) != before
