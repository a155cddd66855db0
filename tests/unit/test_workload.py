"""Recordings into mixes (pure), mixes into scenarios, and a replay against a fake client."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.analysis.summary import load_generator_check
from harness.errors import BadInput
from harness.load.driver import user_classes, users
from harness.load.pages import simple_page_file_paths
from harness.load.plan import build_plan
from harness.load.replay import Arrival, NewestSerial, Replay
from harness.load.workload import Exchange, build_mix, concurrency, project_of, split_sessions
from harness.records.request import RequestRecord
from harness.scenario.mix import Mix, MixSession, MixStep, RpcParam, load_mix
from harness.scenario.model import parse_scenario
from harness.tap import rules
from proxies import contract
from proxies.contract import EndpointClass

PIP = "pip/24.2 {...}"
BANDERSNATCH = "bandersnatch/6.8.0 (cpython 3.11)"


def ex(start, end, path, ua=PIP, method="GET", **extra):
    return Exchange(
        start_s=start, end_s=end, method=method, path=path, status=200, user_agent=ua, **extra
    )


def test_a_client_quiet_for_longer_than_the_gap_starts_a_new_session():
    exchanges = [
        ex(0.0, 0.1, "/simple/a/"),
        ex(0.2, 0.3, "/packages/aa/a-1.0-py3-none-any.whl"),
        ex(9.0, 9.1, "/simple/b/"),
        ex(0.05, 0.2, "/pypi/c/json", ua=BANDERSNATCH),
        ex(0.0, 0.01, "/pypi", ua="bandersnatch", method="POST", rpc="changelog_since_serial"),
    ]
    sessions = split_sessions(exchanges, gap_s=5)
    assert [[e.path for e in s] for s in sessions] == [
        ["/simple/a/", "/packages/aa/a-1.0-py3-none-any.whl"],
        ["/pypi", "/pypi/c/json"],  # XML-RPC as `bandersnatch`, pages as bandersnatch/6.8.0
        ["/simple/b/"],
    ]


def test_projects_come_from_paths_and_file_names_normalized():
    assert project_of(ex(0, 0, "/simple/Amber_Widget/")) == "amber-widget"
    assert (
        project_of(ex(0, 0, "/packages/ab/cd/amber_widget-4.0-py3-none-any.whl")) == "amber-widget"
    )
    assert project_of(ex(0, 0, "/packages/ab/amber-widget-4.0.tar.gz")) == "amber-widget"
    assert project_of(ex(0, 0, "/serversig/x/")) == "x"
    assert project_of(ex(0, 0, "/simple/")) is None


def test_concurrency_is_the_most_requests_in_flight_at_once():
    assert concurrency([ex(0, 1, "/a"), ex(0.5, 2, "/b"), ex(0.6, 0.7, "/c"), ex(3, 4, "/d")]) == 3
    assert concurrency([ex(0, 1, "/a"), ex(1.5, 2, "/b")]) == 1


def test_a_mix_keeps_order_slots_think_times_accept_and_shares():
    exchanges = [
        ex(10.0, 10.1, "/simple/a/", accept="application/vnd.pypi.simple.v1+json"),
        ex(10.3, 10.4, "/packages/x/a-1.0.tar.gz"),
        ex(10.45, 10.5, "/simple/b/"),
        ex(10.6, 10.7, "/packages/y/b-2.0.tar.gz"),
        ex(11.0, 11.1, "/_shieldlab/tap"),  # the lab's own: never part of a mix
    ]
    mix = build_mix(exchanges, "pips", Path("r.mitm"))
    (session,) = mix.sessions
    steps = [(s.endpoint, s.project, s.think_s) for s in session.steps]
    assert steps == [
        (EndpointClass.SIMPLE_PROJECT, 0, 0.0),
        (EndpointClass.PACKAGE_FILE, 0, pytest.approx(0.2)),
        (EndpointClass.SIMPLE_PROJECT, 1, pytest.approx(0.05)),
        (EndpointClass.PACKAGE_FILE, 1, pytest.approx(0.1)),
    ]
    assert session.steps[0].accept == "application/vnd.pypi.simple.v1+json"
    assert session.concurrency == 1 and session.projects == 2
    assert mix.endpoint_shares == {"package_file": 0.5, "simple_project": 0.5}
    assert mix.recorded.exchanges == 4 and mix.recorded.client == "pip/24.2"


def test_an_xmlrpc_serial_becomes_a_lag_behind_the_newest_serial_seen():
    exchanges = [
        ex(0.0, 0.1, "/pypi/a/json", ua=BANDERSNATCH, serial=1000),
        ex(
            9.0,
            9.1,
            "/pypi",
            ua=BANDERSNATCH,
            method="POST",
            rpc="changelog_since_serial",
            rpc_params=[990],
        ),
        ex(
            9.2,
            9.3,
            "/pypi",
            ua=BANDERSNATCH,
            method="POST",
            rpc="package_releases",
            rpc_params=["a", True],
        ),
    ]
    steps = [s for session in build_mix(exchanges, "m", Path("r")).sessions for s in session.steps]
    assert steps[1].rpc == "changelog_since_serial"
    assert steps[1].rpc_params == [RpcParam(serial_lag=10)]
    assert steps[2].rpc_params == [RpcParam(value="a"), RpcParam(value=True)]


def test_a_recording_without_client_requests_is_refused():
    with pytest.raises(ValueError, match="no client requests"):
        build_mix([ex(0, 1, "/_shieldlab/tap")], "m", Path("r.mitm"))


def test_a_mix_may_not_take_a_hand_written_class_name_and_its_shares_add_up():
    session = MixSession(concurrency=1, duration_s=0, steps=[MixStep(endpoint="simple_index")])
    recorded = {"file": "r", "client": "c", "exchanges": 1, "session_gap_s": 5}
    with pytest.raises(ValueError, match="hand-written traffic class"):
        Mix(name="pip", recorded=recorded, endpoint_shares={"simple_index": 1}, sessions=[session])
    with pytest.raises(ValueError, match="add up to 1"):
        Mix(name="x", recorded=recorded, endpoint_shares={"simple_index": 0.5}, sessions=[session])


def test_the_tap_reads_the_serial_header_the_contract_names():
    assert rules.SERIAL_HEADER == contract.HEADER_LAST_SERIAL


# --- scenarios that replay mixes ---

BASE = {"name": "t", "description": "d", "hypothesis": "h", "topology": {"edges": ["iad"]}}


def test_a_scenario_names_a_shipped_mix_and_its_records_carry_the_mixs_class():
    scenario = parse_scenario(
        "t.yaml",
        {
            **BASE,
            "load": {"mixes": [{"mix": "pip-install", "sessions_per_s": 2}]},
            "expect": [{"metric": "error_rate", "traffic": "pip-install", "bound": "< 0.1"}],
        },
    )
    (entry,) = scenario.load.mixes
    assert entry.name == "pip-install" and Path(entry.mix).is_absolute()
    assert scenario.traffic_names()[-1] == "pip-install"


def test_an_unknown_mix_is_one_line_with_a_suggestion():
    with pytest.raises(
        BadInput, match=r"t.yaml: load.mixes\[0\].mix: .*did you mean 'pip-install'"
    ):
        parse_scenario(
            "t.yaml", {**BASE, "load": {"mixes": [{"mix": "pip-instal", "sessions_per_s": 1}]}}
        )


def test_two_classes_of_one_name_are_refused():
    mixes = [{"mix": "pip-install", "sessions_per_s": 1}] * 2
    with pytest.raises(BadInput, match="two traffic classes named 'pip-install'"):
        parse_scenario("t.yaml", {**BASE, "load": {"mixes": mixes}})


def test_the_plan_carries_each_mix_and_locust_gets_a_user_for_each(tmp_path):
    scenario = parse_scenario(
        "t.yaml",
        {
            **BASE,
            "load": {
                "mirrors": [],
                "mixes": [
                    {"mix": "pip-install", "sessions_per_s": 2},
                    {"mix": "bandersnatch-sync", "sessions_per_s": 0.5, "name": "mirror-recorded"},
                ],
            },
        },
    )
    plan = build_plan(scenario, {"iad": "http://a"}, ["x"], tmp_path / "r.csv", 123)
    assert [(m.name, m.sessions_per_s) for m in plan.mixes] == [
        ("pip-install", 2),
        ("mirror-recorded", 0.5),
    ]
    assert plan.mixes[1].sessions == load_mix("bandersnatch-sync").sessions
    assert plan.last_serial == 123
    assert user_classes(plan) == ["PipUser", "BrowserUser", "MixGroup0", "MixGroup1"]
    assert users(plan) == 4 and plan.processes == 1  # 2 * 2 + 2 * 0.5 sessions: one process


def test_the_load_check_counts_a_mixs_sessions_by_their_first_request():
    scenario = parse_scenario(
        "t.yaml",
        {
            **BASE,
            "load": {
                "duration_s": 10,
                "pip": {"installs_per_s": 0},
                "browser": {"visits_per_s": 0},
                "mixes": [{"mix": "pip-install", "sessions_per_s": 2}],
            },
        },
    )

    def record(intended, start):
        return RequestRecord.observed(
            intended_s=intended,
            start_s=start,
            traffic="pip-install",
            endpoint="simple_project",
            method="GET",
            status=200,
            latency_ms=1,
            bytes=1,
            pop="iad",
            served_by="",
            x_cache="",
        )

    on_time = [record(i * 0.5, i * 0.5 + 0.001) for i in range(20)]
    followers = [record(i, i) for i in range(20)]  # later requests of a session: not arrivals
    check = load_generator_check(scenario, on_time + followers).classes["pip-install"]
    assert (check.asked_flows, check.started_flows, check.kept_up) == (20, 20, True)
    late = [record(i * 0.5, i * 0.5 + 0.5) for i in range(20)]
    assert not load_generator_check(scenario, late).classes["pip-install"].kept_up


# --- a replay against a fake client (no sockets) ---


def page(status=200, content=b"", headers=None):
    return SimpleNamespace(status_code=status, content=content, headers=headers or {})


def test_a_replay_sends_the_steps_in_order_on_its_projects_and_files_only_once_listed():
    session = MixSession(
        concurrency=1,
        duration_s=1,
        steps=[
            MixStep(endpoint="package_file", project=0),  # nothing listed yet: skipped
            MixStep(endpoint="simple_project", project=0, accept=contract.PEP691_JSON),
            MixStep(endpoint="package_file", project=0),
            MixStep(endpoint="package_file", project=0),
            MixStep(endpoint="project_json", project=1),
            MixStep(
                endpoint="xmlrpc",
                method="POST",
                rpc="changelog_since_serial",
                rpc_params=[RpcParam(serial_lag=5)],
            ),
        ],
    )
    listing = b'{"files": [{"url": "/packages/a/x-1.tar.gz"}, {"url": "/packages/a/x-2.tar.gz"}]}'
    answers = {
        "/simple/x/": page(content=listing, headers={"Content-Type": contract.PEP691_JSON}),
        "/pypi/y/json": page(
            content=b'{"releases": {}}', headers={contract.HEADER_LAST_SERIAL: "700"}
        ),
    }
    sent = []

    def call(pop, method, path, intended, headers, body):
        sent.append((pop, method, path, intended, body))
        return answers.get(path, page())

    newest = NewestSerial(500)
    Replay(session, call, Arrival("iad", ["x", "y"], 3.5), newest, lambda: True).run()
    assert [(m, p) for _, m, p, _, _ in sent] == [
        ("GET", "/simple/x/"),
        ("GET", "/packages/a/x-2.tar.gz"),  # the newest first, as pip
        ("GET", "/packages/a/x-1.tar.gz"),
        ("GET", "/pypi/y/json"),
        ("POST", "/pypi"),
    ]
    assert sent[0][3] == 3.5 and all(s[3] is None for s in sent[1:])  # the arrival, once
    assert newest.value == 700 and "<int>695</int>" in sent[-1][4]


def test_a_replay_stops_sending_when_the_run_is_over():
    session = MixSession(concurrency=2, duration_s=1, steps=[MixStep(endpoint="simple_index")] * 3)
    sent = []
    Replay(
        session,
        lambda *a: sent.append(a) or page(),
        Arrival("iad", [], 0.0),
        NewestSerial(0),
        lambda: len(sent) < 2,
    ).run()
    assert len(sent) == 2


def test_simple_pages_list_their_files_in_json_and_html():
    html = page(
        content=b'<a href="../../packages/a/x-1.tar.gz#sha256=1">x</a>',
        headers={"Content-Type": "text/html"},
    )
    assert simple_page_file_paths(html) == ["/packages/a/x-1.tar.gz"]
