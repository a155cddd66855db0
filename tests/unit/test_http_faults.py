"""HTTP faults: the tap's rules and decisions, the step -> rule conversion, scenario checks."""

import random

import pytest

from harness.errors import BadInput, InfrastructureError
from harness.faults.backend import FakeActionBackend, FakeFaultBackend, LinkTarget
from harness.faults.http import PutTapRule, tap_change, tap_rule
from harness.run.timeline import FakeClock, Timeline
from harness.scenario.clock import compress_network
from harness.scenario.model import parse_scenario
from harness.scenario.steps import HttpAbortFault, HttpDelayFault, HttpStatusFault
from harness.tap.rules import Match, Rule, RuleBook
from proxies import contract

BASE = {"name": "t", "description": "d", "hypothesis": "h", "topology": {"edges": ["iad", "ams"]}}
XMLRPC = {"method": "POST", "path": "/pypi*"}


def parse(**fields):
    return parse_scenario("t.yaml", {**BASE, **fields})


def status_step(**extra):
    return {"kind": "http_status", "at": 1, "until": 5, "link": "edge-*->origin", **extra}


# --- matching and deciding (the tap's own logic, run inside mitmdump) ---


def test_a_match_needs_the_method_the_path_glob_and_every_header_glob():
    match = Match("POST", "/pypi*", {"content-type": "text/xml*"})
    xml = {"Content-Type": "text/xml; charset=utf-8"}
    assert match.matches("post", "/pypi", xml)
    assert not match.matches("GET", "/pypi", xml)
    assert not match.matches("POST", "/simple/x/", xml)
    assert not match.matches("POST", "/pypi", {"Content-Type": "application/json"})
    assert not match.matches("POST", "/pypi", {})
    assert Match().matches("GET", "/anything?x=1", {})


def test_first_n_fires_on_exactly_the_first_n_matching_requests():
    book = RuleBook()
    book.put(Rule(name="r", action="status", match=Match(method="POST"), first_n=3))
    answers = [book.decide("POST", "/pypi", {}).answer for _ in range(6)]
    assert [a is not None for a in answers] == [True] * 3 + [False] * 3
    assert book.decide("GET", "/simple/", {}).answer is None  # not matching: not counted
    assert book.counts() == {"r": {"matched": 6, "fired": 3}}


def test_probability_is_rolled_per_request_and_the_same_seed_gives_the_same_requests():
    def fired(seed):
        book = RuleBook()
        book.put(Rule(name="r", action="abort", probability=0.3, seed=seed))
        return [book.decide("GET", "/", {}).abort for _ in range(2000)]

    hits = sum(fired("a"))
    assert abs(hits - 600) < 3 * (2000 * 0.3 * 0.7) ** 0.5  # within 3 binomial sd
    assert fired("a") == fired("a")
    assert fired("a") != fired("b")


def test_delays_add_up_and_the_first_status_or_abort_put_decides():
    book = RuleBook()
    book.put(Rule(name="d1", action="delay", delay_ms=100))
    book.put(Rule(name="s", action="status", status=502, match=Match(path="/simple/*")))
    book.put(Rule(name="a", action="abort"))
    book.put(Rule(name="d2", action="delay", delay_ms=50))
    simple = book.decide("GET", "/simple/x/", {})
    assert simple.delay_s == pytest.approx(0.15)
    assert simple.answer is not None and simple.answer.status == 502 and not simple.abort
    other = book.decide("GET", "/pypi/x/json", {})
    assert other.abort and other.answer is None
    assert book.remove("s") and not book.remove("s")
    assert book.decide("GET", "/simple/x/", {}).abort


def test_jitter_stays_within_its_bounds_and_a_delay_never_goes_negative():
    book = RuleBook()
    book.put(Rule(name="d", action="delay", delay_ms=100, jitter_ms=150, seed="s"))
    delays = [book.decide("GET", "/", {}).delay_s for _ in range(500)]
    assert min(delays) == 0.0 and max(delays) <= 0.25
    assert len(set(delays)) > 100


def test_a_rule_survives_its_trip_as_json_and_a_bad_action_is_refused():
    rule = Rule(
        name="r",
        action="status",
        match=Match("POST", "/pypi", {"a": "b*"}),
        first_n=2,
        answer_headers=[("X-A", "1")],
    )
    assert Rule.from_json(rule.to_json()) == rule
    with pytest.raises(ValueError, match="action must be one of status, delay, abort"):
        Rule.from_json({"name": "r", "action": "teleport"})


# --- a scenario's step -> the tap's rule (pure) ---


def test_an_http_status_step_becomes_a_status_rule_that_names_the_tap_as_its_maker():
    step = HttpStatusFault.model_validate(status_step(status=503, match=XMLRPC, first_n=5))
    rule = tap_rule(step, "step0", "step0@edge-iad->origin", "edge-iad->origin")
    assert (rule.action, rule.status, rule.first_n) == ("status", 503, 5)
    assert rule.match == Match("POST", "/pypi*", {})
    headers = dict(rule.answer_headers)
    assert headers[contract.HEADER_ERROR_NODE] == contract.TAP_NODE
    assert headers[contract.HEADER_ERROR_REASON] == (
        "injected by an http_status fault on edge-iad->origin"
    )


def test_delay_and_abort_steps_become_their_rules():
    delay = HttpDelayFault.model_validate(
        {**status_step(), "kind": "http_delay", "delay_ms": 250, "jitter_ms": 20}
    )
    assert (tap_rule(delay, "d", "").delay_ms, tap_rule(delay, "d", "").jitter_ms) == (250, 20)
    abort = HttpAbortFault.model_validate({**status_step(), "kind": "http_abort"})
    assert tap_rule(abort, "a", "").action == "abort"


def test_an_http_fault_on_a_link_without_a_tap_in_the_run_is_an_infrastructure_error():
    step = HttpStatusFault.model_validate(status_step())
    with pytest.raises(InfrastructureError, match="edge-iad->origin: the link has no tap"):
        tap_change(step, "edge-iad->origin", None, "step0")


def test_the_timeline_puts_one_rule_on_each_tapped_link_a_pattern_names_and_removes_them():
    scenario = parse(tap=["edge-*->origin"], faults=[status_step(match=XMLRPC)])
    links = {
        "edge-iad->origin": LinkTarget("p1", 4001, "http://127.0.0.1:5001"),
        "edge-ams->origin": LinkTarget("p2", 4002, "http://127.0.0.1:5002"),
    }
    faults, events = FakeFaultBackend(), []
    timeline = Timeline(scenario, links, faults, FakeActionBackend(), FakeClock(), events.append)
    timeline.run(scenario.load.duration_s)
    applied = [change for action, change in faults.calls if action == "apply"]
    assert all(isinstance(change, PutTapRule) for change in applied)
    assert sorted(c.control_url for c in applied) == [
        "http://127.0.0.1:5001",
        "http://127.0.0.1:5002",
    ]
    assert faults.active == []
    assert [e.event for e in events] == ["fault_applied", "fault_removed"]


# --- scenario checks ---


def test_an_http_fault_on_an_untapped_link_names_the_fix():
    with pytest.raises(BadInput) as error:
        parse(tap=["edge-iad->origin"], faults=[status_step()])
    assert str(error.value) == (
        "t.yaml: faults[0].link: http_status needs a tap on the link, and 'edge-ams->origin-1' has "
        "none; got 'edge-*->origin'; add it to the scenario's `tap:` list"
    )


def test_an_unknown_tap_link_is_refused_with_a_suggestion():
    with pytest.raises(
        BadInput,
        match=r"t.yaml: tap\[0\]: unknown link; got 'shield->orgin'.*"
        r"did you mean 'shield->origin'",
    ):
        parse(tap=["shield->orgin"])


def test_probability_and_first_n_together_are_refused():
    with pytest.raises(BadInput, match="give probability or first_n, not both"):
        parse(tap=["edge-*->origin"], faults=[status_step(probability=0.5, first_n=3)])


def test_tapped_links_expands_patterns_in_the_topologys_order():
    scenario = parse(tap=["edge-*->origin", "shield->origin"])
    assert scenario.tapped_links() == [
        "shield->origin-1",
        "shield->origin-2",
        "edge-iad->origin-1",
        "edge-iad->origin-2",
        "edge-ams->origin-1",
        "edge-ams->origin-2",
    ]


def test_a_faster_network_clock_shortens_http_delays_too():
    scenario = parse(
        tap=["shield->origin"],
        faults=[{**status_step(), "kind": "http_delay", "link": "shield->origin", "delay_ms": 800}],
    )
    assert compress_network(scenario, 4).faults[0].delay_ms == 200  # type: ignore[union-attr]


def test_rules_from_the_same_step_on_two_links_roll_independently():
    step = HttpStatusFault.model_validate(status_step(probability=0.5))
    first = tap_change(step, "edge-iad->origin", "http://a", "step0").rule.seed
    second = tap_change(step, "edge-ams->origin", "http://b", "step0").rule.seed
    assert first != second
    assert random.Random(first).random() != random.Random(second).random()
