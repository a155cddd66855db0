"""The same scenario on another clock: its timeline fitted to another duration, or its
network's clock run faster (every timeout, probe and injected latency together).
"""

from __future__ import annotations

from typing import Any

from harness.scenario.model import Scenario
from harness.scenario.steps import step_until


def with_duration(scenario: Scenario, duration_s: float) -> Scenario:
    """The same scenario over `duration_s`: the timeline is stretched or squeezed to fit."""
    factor = duration_s / scenario.load.duration_s
    steps = []
    for step in scenario.faults:
        update: dict[str, Any] = {"at": round(step.at * factor, 3)}
        until = step_until(step)
        if until is not None:
            update["until"] = round(until * factor, 3)
        steps.append(step.model_copy(update=update))
    load = scenario.load.model_copy(update={"duration_s": duration_s})
    return scenario.model_copy(update={"faults": steps, "load": load})


def compress_network(scenario: Scenario, factor: float) -> Scenario:
    """The same scenario with the network's clock running `factor` times faster.

    Every timeout (CDN backends, the origin's queue and hard kill, the clients) and every injected
    latency shrink together, so which fetch times out first is unchanged; runs get shorter.
    """

    def probe(settings: Any) -> Any:
        if settings is None:
            return None
        return settings.model_copy(
            update={
                "interval_s": settings.interval_s / factor,
                "timeout_s": settings.timeout_s / factor,
            }
        )

    def backend(settings: Any) -> Any:
        return settings.model_copy(
            update={
                "connect_timeout_s": settings.connect_timeout_s / factor,
                "first_byte_timeout_s": settings.first_byte_timeout_s / factor,
                "between_bytes_timeout_s": settings.between_bytes_timeout_s / factor,
                "probe": probe(settings.probe),
            }
        )

    def node(settings: Any) -> Any:
        return settings.model_copy(
            update={
                "backend": backend(settings.backend),
                "pass_backend": backend(settings.pass_backend),
            }
        )

    topology = scenario.topology
    origin = topology.origin.model_copy(
        update={
            "read_timeout_s": topology.origin.read_timeout_s / factor,
            "worker_kill_s": topology.origin.worker_kill_s / factor,
        }
    )
    topology = topology.model_copy(
        update={
            "shield": node(topology.shield),
            "edge": node(topology.edge),
            "origin": origin,
        }
    )
    steps = [step.on_faster_network(factor) for step in scenario.faults]
    load = scenario.load.model_copy(
        update={"client_timeout_s": scenario.load.client_timeout_s / factor}
    )
    return scenario.model_copy(update={"topology": topology, "faults": steps, "load": load})
