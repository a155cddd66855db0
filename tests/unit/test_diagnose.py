import random

import pytest

from harness.analysis.diagnose import diagnose, diagnose_records
from harness.analysis.diagnosis_text import finding_lines
from harness.analysis.segments import Path, path_of
from harness.records.diagnosis import ChangeTest, Diagnosis
from tests.unit.run_fixture import make_records, record, write_run

QUIET = [(float(t), 2.0, 16.0) for t in range(60)]


def test_paths_follow_x_cache():
    def rec(x_cache, method="GET"):
        return record(0, x_cache=x_cache, method=method)

    assert path_of(rec("MISS, HIT")) is Path.HIT
    assert path_of(rec("HIT, MISS")) is Path.SHIELD
    assert path_of(rec("MISS, MISS")) is Path.ORIGIN
    assert path_of(rec("PASS", "POST")) is Path.PASS
    assert path_of(rec("")) is Path.FAILED
    assert path_of(rec("HIT-COLLAPSED, MISS")) is Path.COLLAPSED  # waited at the shield
    assert path_of(rec("MISS, HIT-COLLAPSED")) is Path.COLLAPSED


def _delayed(records, window, share, add_ms, crosses, seed=0):
    """A random `share` of the requests that cross a segment in `window` wait `add_ms` more
    (a lost segment waiting for TCP's retransmission timer): medians stay where they were."""
    rng = random.Random(seed)
    return [
        r.model_copy(update={"latency_ms": r.latency_ms + add_ms})
        if window[0] <= r.intended_s < window[1] and crosses(r) and rng.random() < share
        else r
        for r in records
    ]


def _noisy(records, seed):
    """Ordinary noise, the same all run long: a log-normal spread and 1 % of requests a few
    hundred milliseconds late, at any moment, on any path."""
    rng = random.Random(seed)
    return [
        r.model_copy(
            update={
                "latency_ms": r.latency_ms * rng.lognormvariate(0, 0.5)
                + (rng.uniform(200, 600) if rng.random() < 0.01 else 0.0)
            }
        )
        for r in records
    ]


def crosses_shield_origin(r):
    return r.method == "GET" and path_of(r) is Path.ORIGIN


def crosses_edge_iad_shield(r):
    return r.pop == "iad" and path_of(r) in (Path.SHIELD, Path.ORIGIN)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_a_clean_run_with_ordinary_noise_has_no_fault(seed):
    records = _noisy(make_records(60, None, None, seed=seed, rate_per_s=40), seed)
    result = diagnose_records(records, QUIET)
    assert result.findings == [], finding_lines(result)
    assert result.origin_capacity is None and not result.fault_found
    assert result.tests_run > 500  # every segment, window and test was tried


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("shield-origin", "shield->origin"),
        ("edge-iad-shield", "edge-iad->shield"),
        ("edge-iad-origin", "edge-iad->origin"),
        ("client-edge-iad", "client->edge-iad"),
    ],
)
def test_each_faulty_segment_alone_is_named_with_its_window(segment, expected):
    records = make_records(60, (20, 40), segment, seed=3)
    result = diagnose_records(records, QUIET)
    assert result.segments == [expected], finding_lines(result)  # and no neighbour with it
    (finding,) = result.findings
    assert 15 <= finding.onset_s <= 24 and 36 <= finding.end_s <= 45
    assert finding.confidence > 0.99
    assert all(t.q_value <= result.fdr_level for t in finding.tests)


def test_a_fault_that_shows_only_in_the_tail_is_named_with_its_effect():
    records = make_records(60, None, None, seed=11, rate_per_s=40)
    lossy = _delayed(records, (20, 44), 0.12, 300, crosses_shield_origin)
    result = diagnose_records(lossy, QUIET)
    assert result.segments == ["shield->origin"], finding_lines(result)
    assert (result.findings[0].link, result.findings[0].pops) == ("shield->origin", [])
    (finding,) = result.findings
    assert 15 <= finding.onset_s <= 24 and 40 <= finding.end_s <= 48
    assert ChangeTest.TAIL in {t.test for t in finding.tests}
    effect = finding.effect
    assert effect.p50_ms.window is not None and effect.p50_ms.quiet is not None
    assert effect.p50_ms.window < 1.5 * effect.p50_ms.quiet  # the median barely moved ...
    assert effect.slow_share.window is not None and effect.slow_share.window > 0.04  # ... the tail


def test_two_faulty_segments_at_once_are_both_named():
    records = make_records(80, None, None, seed=13, rate_per_s=40)
    both = _delayed(records, (12, 40), 0.25, 400, crosses_shield_origin, seed=1)
    both = _delayed(both, (36, 66), 0.25, 400, crosses_edge_iad_shield, seed=2)
    result = diagnose_records(both, QUIET)
    assert sorted(result.segments) == ["edge-iad->shield", "shield->origin"], finding_lines(result)
    windows = {f.segment: (f.onset_s, f.end_s) for f in result.findings}
    assert windows["shield->origin"][0] < 36  # each in its own fault's time
    assert windows["edge-iad->shield"][0] >= 28 and windows["edge-iad->shield"][1] > 44


def test_a_slow_link_in_front_of_the_shield_is_not_blamed_on_the_shield_behind_it():
    records = make_records(60, None, None, seed=17, rate_per_s=40)
    slow = _delayed(records, (20, 44), 0.5, 400, crosses_edge_iad_shield)
    result = diagnose_records(slow, QUIET)
    assert result.segments == ["edge-iad->shield"], finding_lines(result)
    assert (result.findings[0].link, result.findings[0].pops) == ("edge-iad->shield", ["iad"])


def test_the_same_fault_on_most_pops_is_one_finding():
    records = make_records(60, None, None, seed=19, rate_per_s=40)
    every_pop = _delayed(
        records, (20, 44), 0.5, 400, lambda r: path_of(r) in (Path.SHIELD, Path.ORIGIN)
    )
    result = diagnose_records(every_pop, QUIET)
    assert result.segments == ["edge-*->shield (2 of 2 POPs)"], finding_lines(result)
    assert (result.findings[0].link, result.findings[0].pops) == ("edge-*->shield", ["ams", "iad"])


def test_a_path_always_slow_in_the_tail_is_no_fault():
    records = make_records(60, None, None, seed=11, rate_per_s=40)
    always = _delayed(records, (0, 60), 0.12, 600, crosses_shield_origin)
    assert diagnose_records(always, QUIET).findings == []


def test_an_overloaded_origin_is_its_own_finding_not_a_slow_link():
    records = make_records(60, (20, 40), "origin", seed=5)
    origin = [(float(t), 16.0 if 20 <= t < 40 else 3.0, 16.0) for t in range(60)]
    result = diagnose_records(records, origin)
    assert result.findings == []
    capacity = result.origin_capacity
    assert capacity is not None and capacity.balancer_answers > 0
    assert 19 <= capacity.onset_s <= 21 and 38 <= capacity.end_s <= 42
    assert any(headline.startswith("origin capacity") for headline, _ in finding_lines(result))


def test_a_brief_overload_does_not_hide_a_long_link_fault():
    records = make_records(60, (15, 55), "shield-origin", seed=7)
    origin = [(float(t), 16.0 if 10 <= t < 14 else 3.0, 16.0) for t in range(60)]
    result = diagnose_records(records, origin)
    assert result.segments == ["shield->origin"]
    assert result.origin_capacity is not None


def test_diagnose_reads_only_records_and_samples_and_its_json_reads_back(tmp_path):
    run = write_run(tmp_path / "run", "anything", make_records(60, (20, 40), "shield-origin"), 60)
    (run / "events.jsonl").unlink()
    (run / "scenario.yaml").unlink()
    result = diagnose(run)
    assert result.segments == ["shield->origin"]
    assert Diagnosis.model_validate_json(result.model_dump_json()) == result


def test_a_window_with_more_of_a_slower_kind_of_request_is_no_fault():
    """A run's first seconds miss on files as well as pages: slower requests, but each as fast
    as its own kind ever is. Latency is compared within an endpoint class."""
    rng = random.Random(23)
    records = make_records(60, None, None, seed=23, rate_per_s=40)
    mixed = [
        r.model_copy(update={"endpoint": "package_file", "latency_ms": rng.uniform(150, 450)})
        if crosses_shield_origin(r) and rng.random() < (0.6 if 20 <= r.intended_s < 40 else 0.1)
        else r
        for r in records
    ]
    assert diagnose_records(mixed, QUIET).findings == []


def test_a_cold_start_is_not_a_fault():
    records = make_records(60, None, None, seed=29, rate_per_s=40)
    cold = _delayed(records, (0, 7), 0.3, 300, crosses_shield_origin)
    assert diagnose_records(cold, QUIET).findings == []
    later = _delayed(records, (12, 30), 0.4, 300, crosses_shield_origin)
    assert diagnose_records(later, QUIET).segments == ["shield->origin"]  # the same, once warm


@pytest.mark.parametrize("seed", [32, 33])
def test_a_small_fault_on_every_pops_link_is_named_for_all_pops(seed):
    """Each POP alone has too few shield hits to tell a tail of 12 %; all of them together do."""
    records = make_records(60, None, None, seed=seed, rate_per_s=40)
    weak = _delayed(
        records, (20, 44), 0.12, 300, lambda r: path_of(r) in (Path.SHIELD, Path.ORIGIN), seed
    )
    result = diagnose_records(weak, QUIET)
    assert result.segments == ["edge-*->shield (all 2 POPs)"]
    assert (result.findings[0].link, result.findings[0].pops) == ("edge-*->shield", ["ams", "iad"])
