from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.load.driver import locust_argv, split_classes, user_classes, users
from harness.load.pages import release_url_paths
from harness.load.plan import build_plan
from harness.records.request import COLUMNS, RequestRecord, read_requests, write_requests
from harness.scenario.model import load_scenario
from harness.scenario.traffic import Layer, MirrorClient, TrafficClass
from proxies.contract import CacheState, EndpointClass


def test_the_storm_only_runs_inside_its_window_and_intervals_follow_time_scale(tmp_path: Path):
    scenario = load_scenario("mirror-storm")
    plan = build_plan(
        scenario,
        {"iad": "http://a", "ams": "http://b", "sjc": "http://c"},
        ["x", "y"], tmp_path / "r.csv",
    )
    groups = {m.group: m for m in plan.mirrors}
    assert groups["mirrors"].active == [(0.0, 90.0)]
    assert groups["storm"].active == [(30.0, 70.0)]
    assert groups["storm"].count == 200 and groups["storm"].synchronized
    assert groups["mirrors"].interval_s == 120 / 60  # cron every 2 min, compressed 60 times
    assert plan.pop_share == {"iad": 1.0, "ams": 1.0, "sjc": 1.0}


def test_locust_runs_headless_with_one_user_per_class_and_mirror(tmp_path: Path):
    plan = build_plan(
        load_scenario("mirror-storm"), {"iad": "http://a"}, ["x"], tmp_path / "r.csv"
    )
    argv = locust_argv(plan, 5.0)
    assert "--headless" in argv
    assert argv[argv.index("--users") + 1] == str(2 + 2 + 200)  # pip, browser, each mirror
    # Each mirror group is a class of its own, so Locust keeps each group's count.
    assert user_classes(plan) == ["PipUser", "BrowserUser", "MirrorGroup0", "MirrorGroup1"]
    assert argv[-4:] == user_classes(plan)


def test_arrivals_and_mirrors_run_in_processes_of_their_own(tmp_path: Path):
    plan = build_plan(
        load_scenario("mirror-storm"), {"iad": "http://a"}, ["x"], tmp_path / "r.csv"
    )
    arrivals, mirrors = split_classes(plan)
    assert arrivals == ["PipUser", "BrowserUser"] and mirrors == ["MirrorGroup0", "MirrorGroup1"]
    assert users(plan, arrivals) == 2 and users(plan, mirrors) == 2 + 200
    argv = locust_argv(plan, 5.0, mirrors)
    assert argv[argv.index("--users") + 1] == "202" and argv[-2:] == mirrors
    no_mirrors = plan.model_copy(update={"mirrors": []})
    assert split_classes(no_mirrors) == [["PipUser", "BrowserUser"]]  # one process, as before


def test_records_read_back_typed(tmp_path: Path):
    path = tmp_path / "requests.csv"
    path.write_text(
        ",".join(COLUMNS) + "\n"
        '1.5,1.6,pip,simple_project,GET,503,15001.2,300,iad,"shield, edge-iad","MISS, MISS",'
        "MISS,MISS,shield,shield,first byte timeout\n"
    )
    (record,) = read_requests(path)
    assert record.status == 503 and record.latency_ms == 15001.2
    assert record.traffic == TrafficClass.PIP and record.endpoint == EndpointClass.SIMPLE_PROJECT
    assert (record.edge_cache, record.shield_cache) == (CacheState.MISS, CacheState.MISS)
    assert record.error_layer == Layer.SHIELD


def test_records_round_trip_through_the_csv_row(tmp_path: Path):
    written = [
        RequestRecord.observed(
            intended_s=1.0,
            start_s=1.0,
            traffic="mirror",
            endpoint="xmlrpc",
            method="POST",
            status=0,
            latency_ms=30000.0,
            bytes=0,
            pop="ams",
            served_by="",
            x_cache="",
            error_node="client",
            error_reason="timeout",
        ),
        RequestRecord.observed(
            intended_s=2.0,
            start_s=2.1,
            traffic="pip",
            endpoint="package_file",
            method="GET",
            status=200,
            latency_ms=3.5,
            bytes=999,
            pop="iad",
            served_by="shield, edge-iad",
            x_cache="HIT, HIT-STALE",
        ),
    ]
    write_requests(tmp_path / "requests.csv", written)
    assert read_requests(tmp_path / "requests.csv") == written
    assert written[0].error_layer == Layer.CLIENT and written[0].edge_cache is None
    assert written[1].edge_cache == CacheState.HIT_STALE and written[1].error_layer is None


def test_a_requests_file_of_another_version_is_one_line(tmp_path: Path):
    path = tmp_path / "requests.csv"
    path.write_text("intended_s,start_s,traffic\n1,1,pip\n")
    with pytest.raises(BadInput, match="not a requests file of schema version 2"):
        read_requests(path)
    path.write_text(",".join(COLUMNS) + "\n" + "x," * (len(COLUMNS) - 1) + "x\n")
    with pytest.raises(BadInput, match="line 2: intended_s"):
        read_requests(path)


def test_one_process_while_one_keeps_up_then_one_per_1000_requests_per_s_up_to_the_cpus():
    from harness.load.plan import load_processes

    assert load_processes(100, cpus=2) == 1
    assert load_processes(1000, cpus=8) == 1
    assert load_processes(2500, cpus=8) == 3
    assert load_processes(2500, cpus=2) == 2
    assert load_processes(2500, cpus=1) == 1


def test_a_fast_scenario_gets_a_master_and_workers_each_with_a_share_of_every_class(tmp_path):
    from harness.load.driver import master_argv, users, worker_argv
    from harness.scenario.model import parse_scenario

    scenario = parse_scenario(
        "t.yaml",
        {"name": "t", "description": "d", "hypothesis": "h",
         "load": {"pip": {"installs_per_s": 1000}, "browser": {"visits_per_s": 100}}},
    )  # fmt: skip
    plan = build_plan(scenario, {"iad": "http://a"}, ["x"], tmp_path / "r.csv")
    assert plan.processes == min(__import__("os").cpu_count() or 1, 3)  # 2,200 requests/s
    forced = build_plan(
        scenario.model_copy(update={"load": scenario.load.model_copy(update={"processes": 3})}),
        {"iad": "http://a"}, ["x"], tmp_path / "r.csv",
    )  # fmt: skip
    assert forced.processes == 3 and users(forced) == 3 * 2 + 2  # pip, browser each; 2 mirrors
    master = master_argv(forced, 3.0, 5557)
    assert master[master.index("--expect-workers") + 1] == "3"
    assert master[master.index("--master-bind-host") + 1] == "127.0.0.1"
    worker = worker_argv(5557)
    assert "--worker" in worker and worker[worker.index("--master-port") + 1] == "5557"


def test_the_parts_of_every_process_join_into_one_requests_file(tmp_path: Path):
    from harness.records.request import join_parts, part_path

    path = tmp_path / "requests.csv"
    rows = [
        RequestRecord.observed(
            intended_s=float(i), start_s=float(i), traffic="pip", endpoint="simple_project",
            method="GET", status=200, latency_ms=1.0, bytes=1, pop="iad", served_by="", x_cache="",
        )
        for i in range(5)
    ]  # fmt: skip
    write_requests(Path(part_path(path, "host-a", 1)), rows[:2])
    write_requests(Path(part_path(path, "host-b", 1)), rows[2:])
    write_requests(Path(part_path(path, "host-a", 13)), [])  # a master writes only the header
    killed = Path(part_path(path, "host-c", 1))  # killed while writing its last line
    write_requests(killed, rows[:1])
    with open(killed, "a") as handle:
        handle.write("3.43")
    Path(part_path(path, "host-d", 1)).write_text("")  # killed before its first write
    assert join_parts(path) == {
        "host-a-1": 2, "host-b-1": 3, "host-a-13": 0, "host-c-1": 1, "host-d-1": 0
    }  # fmt: skip
    assert sorted(r.intended_s for r in read_requests(path)) == [0, 0, 1, 2, 3, 4]
    assert list(tmp_path.iterdir()) == [path]
    assert join_parts(path) == {} and len(read_requests(path)) == 6  # a second join changes nothing


def test_the_incident_has_mirror0_as_bandersnatch_1_3_every_minute(tmp_path: Path):
    scenario = load_scenario("incident-2014-07-20")
    pops = {"iad": "http://a", "ams": "http://b", "sjc": "http://c"}
    plan = build_plan(scenario, pops, ["x"], tmp_path / "r.csv")
    groups = {m.group: m for m in plan.mirrors}
    assert groups["mirror0"].client is MirrorClient.BANDERSNATCH_1_3
    assert (groups["mirror0"].workers, groups["mirror0"].interval_s) == (20, 60 / 100)
    assert groups["mirrors"].client is MirrorClient.BANDERSNATCH_1_4  # the default


def test_release_urls_answers_become_the_files_paths_on_the_mirrors_pop():
    urls = [
        {"url": "http://127.0.0.1:4001/packages/py3/a/a/a-1.0-py3-none-any.whl"},
        {"url": "http://elsewhere/not-a-package"},
        "junk",
    ]
    assert release_url_paths(urls) == ["/packages/py3/a/a/a-1.0-py3-none-any.whl"]
    assert release_url_paths(None) == []  # a failed call
