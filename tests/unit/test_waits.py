import pytest

from harness.errors import InfrastructureError
from harness.run.clock import FakeRunClock
from harness.waits import time_until, wait_until


class Clock(FakeRunClock):
    @property
    def t(self) -> float:
        return self.elapsed_s


def test_a_check_that_comes_true_returns_how_long_it_took():
    clock = Clock()
    took = time_until(lambda: clock.t >= 1.0, 5, 0.25, clock.monotonic, clock.sleep)
    assert took == 1.0


def test_a_check_that_never_holds_gives_none_after_the_timeout_and_is_tried_at_the_end():
    clock, tries = Clock(), []
    assert time_until(lambda: tries.append(clock.t) and False, 1, 0.5, clock.monotonic, clock.sleep) is None
    assert tries == [0.0, 0.5, 1.0]


def test_a_wait_that_runs_out_names_what_it_waited_for_as_it_was_then():
    clock, missing = Clock(), ["shield", "edge-iad"]
    with pytest.raises(InfrastructureError, match=r"^nodes ready \(missing: shield, edge-iad\): not within 2 s$"):
        wait_until(
            lambda: False,
            2,
            lambda: f"nodes ready (missing: {', '.join(missing)})",
            monotonic=clock.monotonic,
            sleep=clock.sleep,
        )


def test_a_check_that_raises_stops_the_wait_at_once():
    clock = Clock()

    def exited() -> bool:
        raise InfrastructureError("node shield exited while starting")

    with pytest.raises(InfrastructureError, match="exited while starting"):
        wait_until(exited, 60, "nodes ready", monotonic=clock.monotonic, sleep=clock.sleep)
    assert clock.t == 0.0
