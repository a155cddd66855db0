"""The CDN's probe window, grace table and director: the rules that decide stale or 503."""

import random

import pytest

from proxies.cdn.cache import Freshness
from proxies.cdn.director import Backend, Director
from proxies.cdn.grace import Serve, decide
from proxies.cdn.health import ProbeWindow
from proxies.contract import BackendSettings, ProbeSettings


def test_a_healthy_backend_turns_sick_after_window_minus_threshold_plus_one_failures():
    window = ProbeWindow(window=8, threshold=3, initial=8)
    changes = [window.record(False) for _ in range(6)]
    assert changes == [False, False, False, False, False, True]  # sick at the 6th failure
    assert not window.healthy


def test_a_sick_backend_is_healthy_again_after_threshold_good_probes():
    window = ProbeWindow(window=8, threshold=3, initial=0)
    assert not window.healthy
    assert [window.record(True) for _ in range(3)] == [False, False, True]
    assert window.healthy and window.good == 3


def test_initial_pre_fills_good_results():
    assert ProbeWindow.of(ProbeSettings()).healthy  # the lab's default: healthy at start
    varnish = ProbeWindow(window=8, threshold=3, initial=2)  # Varnish's threshold - 1
    assert not varnish.healthy
    varnish.record(True)
    assert varnish.healthy


def test_probe_settings_refuse_a_threshold_above_the_window():
    with pytest.raises(ValueError, match="threshold must be <= window"):
        ProbeSettings(window=2, threshold=3, initial=0)


GRACE = {"grace_healthy_s": 15.0, "grace_sick_s": 86_400.0}


@pytest.mark.parametrize(
    ("freshness", "past_ttl_s", "healthy", "fetching", "expected"),
    [
        (Freshness.FRESH, 0, True, False, Serve.HIT),
        (Freshness.FRESH, 0, False, False, Serve.HIT),
        # healthy: stale only while another request is already fetching, inside 15 s
        (Freshness.STALE, 5, True, True, Serve.STALE),
        (Freshness.STALE, 5, True, False, Serve.FETCH),
        (Freshness.STALE, 20, True, True, Serve.FETCH),
        # sick: stale up to 24 h, no fetch needed; nothing stale: the CDN's 503
        (Freshness.STALE, 3600, False, False, Serve.STALE),
        (Freshness.STALE, 90_000, False, False, Serve.UNHEALTHY),
        (Freshness.MISSING, 0, False, False, Serve.UNHEALTHY),
        (Freshness.MISSING, 0, True, True, Serve.FETCH),
    ],
)
def test_the_grace_decision_table(freshness, past_ttl_s, healthy, fetching, expected):
    assert decide(freshness, past_ttl_s, healthy, fetching, **GRACE) is expected


class _Window:
    def __init__(self, healthy: bool) -> None:
        self.healthy = healthy


class _Prober:
    def __init__(self, healthy: bool) -> None:
        self.window = _Window(healthy)


def backend(name: str, healthy: bool, in_flight: int = 0) -> Backend:
    made = Backend(name, f"http://{name}", BackendSettings(max_connections=2), in_flight)
    made.prober = _Prober(healthy)  # type: ignore[assignment]
    return made


def test_the_director_picks_only_healthy_backends():
    director = Director([backend("a", True), backend("b", False)], random.Random(1))
    picks = {director.pick().name for _ in range(50)}  # type: ignore[union-attr]
    assert picks == {"a"}
    assert director.healthy


def test_the_director_spreads_over_every_healthy_backend():
    director = Director([backend("a", True), backend("b", True)], random.Random(1))
    picks = [director.pick().name for _ in range(200)]  # type: ignore[union-attr]
    assert 60 < picks.count("a") < 140


def test_with_every_backend_sick_the_director_picks_nothing():
    director = Director([backend("a", False), backend("b", False)], random.Random(1))
    assert director.pick() is None and not director.healthy


def test_the_static_mirror_answers_only_while_every_web_node_is_sick():
    mirror = [backend("mirror", True)]
    up = Director([backend("a", True), backend("b", False)], random.Random(1), mirror)
    assert {up.pick().name for _ in range(50)} == {"a"}  # type: ignore[union-attr]
    down = Director([backend("a", False), backend("b", False)], random.Random(1), mirror)
    assert down.pick().name == "mirror" and down.healthy  # type: ignore[union-attr]


def test_with_the_mirror_sick_too_the_director_picks_nothing():
    director = Director([backend("a", False)], random.Random(1), [backend("mirror", False)])
    assert director.pick() is None and not director.healthy


def test_a_backend_at_max_connections_is_busy():
    assert backend("a", True, in_flight=2).busy
    assert not backend("a", True, in_flight=1).busy
