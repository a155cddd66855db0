"""The observables that tell two hypotheses apart, ranked on two recorded fixtures."""

from dataclasses import replace

from harness.analysis.expectations import RunView
from harness.analysis.observables import (
    EXACT_SEPARATION,
    Reading,
    catalogue,
    differences,
    read,
    separation,
)
from harness.analysis.uncertainty import Interval
from harness.records.samples import Sample
from harness.scenario.expectation import Window
from harness.scenario.model import parse_scenario
from harness.scenario.traffic import Layer
from proxies.contract import BackendGauge, CacheState, FetchFailure
from tests.unit.run_fixture import make_records

DURATION = 60
FAULT = (20.0, 50.0)
WINDOW = [Window.model_validate({"during": "*"})]


def view(segment: str) -> RunView:
    scenario = parse_scenario(
        "t",
        {
            "name": "t",
            "description": "d",
            "hypothesis": "h",
            "topology": {"edges": ["iad", "ams"]},
            "load": {"duration_s": DURATION},
            "faults": [
                {
                    "kind": "latency",
                    "at": FAULT[0],
                    "until": FAULT[1],
                    "link": "shield->origin",
                    "latency_ms": 1,
                }
            ],
        },
    )
    return RunView(scenario, make_records(DURATION, FAULT, segment, seed=5))


def test_a_slow_backend_and_a_slow_pop_differ_most_in_who_made_the_503s_and_where():
    entries = catalogue(["iad", "ams"], WINDOW)
    backend = read(entries, [view("shield-origin")])
    pop = read(entries, [view("edge-iad-shield")])
    ranked = differences(backend, pop)
    assert len(ranked) == 3
    # The backend fault ends at the shield's 15 s timeout, the slow POP's requests wait 20 s:
    # the p95s are far apart; and the shield made every 503 of the backend fault, the slow POP
    # none.
    assert [d.name for d in ranked] == ["pip p95", "browser p95", "503s made by the shield"]
    shield = ranked[2]
    assert shield.a.value > 0.1 and shield.b.value == 0 and shield.separation > 5
    assert shield.text().startswith("503s made by the shield 0.1")
    assert "standard errors apart" in shield.text()
    # the rest of the ranking: where the 503s were, before what does not differ
    everything = [d.name for d in differences(backend, pop, top=20)]
    assert everything.index("503 share at iad") < everything.index("shield hit ratio")


def test_the_same_point_twice_differs_in_nothing():
    entries = catalogue(["iad", "ams"], WINDOW)
    one = read(entries, [view("shield-origin")])
    assert differences(one, one) == []


def test_separation_is_the_gap_in_combined_standard_errors():
    a = Reading("x", 1.0, Interval(0.9, 1.1))
    b = Reading("x", 2.0, Interval(1.9, 2.1))
    se = 0.1 / 1.959964
    assert abs(separation(a, b) - 1.0 / (2**0.5 * se)) < 1e-3
    exact = Reading("x", 0.0, None)
    assert separation(exact, Reading("x", 0.5, None)) == EXACT_SEPARATION
    assert separation(exact, Reading("x", None, None)) is None


def test_reasons_stale_pages_and_probe_state_are_in_the_catalogue():
    # The same fault twice, once with the shield's probe saying sick, the edge serving stale
    # pages, and the shield's 503s given as "no healthy backend": those are what differ.
    plain = view("shield-origin")
    stale = [
        r.model_copy(update={"x_cache": "MISS, HIT-STALE", "edge_cache": CacheState.HIT_STALE})
        if r.status == 200 and FAULT[0] <= r.intended_s < FAULT[1] and i % 2
        else r.model_copy(update={"error_reason": FetchFailure.UNHEALTHY})
        if r.error_layer is Layer.SHIELD
        else r
        for i, r in enumerate(plain.records)
    ]
    sick = [
        Sample(
            t_s=t, node="shield", metric=BackendGauge.HEALTHY, labels="backend=origin-1", value=0
        )
        for t in range(int(FAULT[0]), int(FAULT[1]))
    ]
    entries = catalogue(["iad", "ams"], WINDOW)
    before = {r.name: r for r in read(entries, [plain])}
    after = {r.name: r for r in read(entries, [replace(plain, records=stale, backends=sick)])}
    assert before["edge served stale"].value == 0 and after["edge served stale"].value > 0.3
    timeouts, unhealthy = (
        "503s for 'first byte timeout'",
        "503s for 'All backends failed or unhealthy'",
    )
    assert before[unhealthy].value == 0 and after[unhealthy].value > 0.05
    assert before[timeouts].value > 0.05 and after[timeouts].value == 0
    # Gauges are exact readings: none without probe samples, every reading sick with them.
    probe = "shield probe readings sick"
    assert before[probe].value is None
    assert (after[probe].value, after[probe].spread) == (1.0, None)
    assert separation(before["edge served stale"], after["edge served stale"]) > 2
