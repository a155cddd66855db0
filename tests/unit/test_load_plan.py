from pathlib import Path

from harness.load.driver import locust_argv, user_classes
from harness.load.plan import build_plan, read_records
from harness.scenario import load_scenario


def test_the_storm_only_runs_inside_its_window_and_intervals_follow_time_scale(tmp_path: Path):
    scenario = load_scenario("mirror-storm")
    plan = build_plan(
        scenario,
        {"iad": "http://a", "ams": "http://b", "sjc": "http://c"},
        ["x", "y"],
        1000.0,
        tmp_path / "r.csv",
    )
    groups = {m.group: m for m in plan.mirrors}
    assert groups["mirrors"].active == [(0.0, 90.0)]
    assert groups["storm"].active == [(30.0, 70.0)]
    assert groups["storm"].workers == 50 and groups["storm"].synchronized
    assert groups["mirrors"].interval_s == 120 / 60  # cron every 2 min, compressed 60 times
    assert plan.pop_share == {"iad": 1.0, "ams": 1.0, "sjc": 1.0}


def test_locust_runs_headless_with_one_user_per_class_and_mirror(tmp_path: Path):
    plan = build_plan(
        load_scenario("mirror-storm"), {"iad": "http://a"}, ["x"], 0.0, tmp_path / "r.csv"
    )
    argv = locust_argv(plan, 5.0)
    assert "--headless" in argv
    assert argv[argv.index("--users") + 1] == str(2 + 2 + 4)
    assert user_classes(plan) == ["PipUser", "BrowserUser", "MirrorUser"]
    assert argv[-3:] == ["PipUser", "BrowserUser", "MirrorUser"]


def test_records_read_back_typed(tmp_path: Path):
    path = tmp_path / "requests.csv"
    path.write_text(
        "intended_s,start_s,traffic,endpoint,method,status,latency_ms,bytes,pop,served_by,x_cache,error_node,error_reason\n"
        '1.5,1.6,pip,simple_project,GET,503,15001.2,300,iad,"shield, edge-iad","MISS, MISS",shield,first byte timeout\n'
    )
    (record,) = read_records(path)
    assert record.status == 503 and record.latency_ms == 15001.2 and record.x_cache == "MISS, MISS"
