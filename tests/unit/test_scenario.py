import pytest
import yaml
from pydantic import ValidationError

from harness.errors import BadInput
from harness.scenario.model import (
    Scenario,
    expand_link,
    json_schema,
    load_scenario,
    parse_scenario,
    shipped_names,
)
from harness.scenario.steps import LatencyFault, MirrorsAction

BASE = {"name": "t", "description": "d", "hypothesis": "h"}


def parse(**fields):
    return parse_scenario("t.yaml", {**BASE, **fields})


def test_every_shipped_scenario_loads():
    names = shipped_names()
    assert {
        "baseline",
        "shield-origin-latency",
        "edge-shield-latency",
        "mirror-storm",
        "xmlrpc-unindexed",
        "xmlrpc-indexed",
        "incident-2014-07-20",
    } <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.description and scenario.hypothesis


def test_topology_overrides_merge_over_the_defaults():
    scenario = parse(topology={"origin": {"worker_slots": 4}, "time_scale": 30})
    assert scenario.topology.origin.worker_slots == 4
    assert scenario.topology.origin.queue_max == 1024
    assert scenario.topology.edge.backend.first_byte_timeout_s == 15  # the service's own
    assert scenario.topology.time_scale == 30


def test_faults_are_typed_by_kind():
    scenario = parse(
        faults=[
            {
                "kind": "latency",
                "at": 10,
                "until": 20,
                "link": "shield->origin",
                "latency_ms": 2000,
            },
            {"kind": "mirrors", "at": 5, "until": 50, "group": "mirrors"},
        ]
    )
    assert isinstance(scenario.faults[0], LatencyFault)
    assert scenario.faults[0].stream.value == "downstream"
    assert isinstance(scenario.faults[1], MirrorsAction)


def test_unknown_kind_lists_the_allowed_kinds():
    with pytest.raises(BadInput) as error:
        parse(faults=[{"kind": "jitter", "at": 1, "link": "shield->origin"}])
    message = str(error.value)
    assert message.startswith("t.yaml: faults[0]")
    assert "latency" in message and "stall" in message


def test_unknown_field_in_a_fault_suggests_the_right_one():
    with pytest.raises(BadInput) as error:
        parse(faults=[{"kind": "latency", "at": 1, "link": "shield->origin", "latency": 5}])
    assert "faults[0].latency: unknown setting" in str(error.value)
    assert "did you mean 'latency_ms'" in str(error.value)


def test_unknown_link_names_the_known_ones_and_a_close_match():
    with pytest.raises(BadInput) as error:
        parse(faults=[{"kind": "down", "at": 1, "link": "shield->orign"}])
    message = str(error.value)
    assert message.startswith("t.yaml: faults[0].link: unknown link; got 'shield->orign'")
    assert "did you mean 'shield->origin'" in message


def test_until_must_follow_at_and_at_must_be_inside_the_run():
    with pytest.raises(BadInput, match="until .* must be after at"):
        parse(faults=[{"kind": "down", "at": 10, "until": 5, "link": "shield->origin"}])
    with pytest.raises(BadInput, match=r"faults\[0\].at: after the end of the run"):
        parse(
            load={"duration_s": 30}, faults=[{"kind": "down", "at": 40, "link": "shield->origin"}]
        )


def test_mirror_group_and_pop_share_are_checked():
    with pytest.raises(BadInput, match="no such mirror group"):
        parse(faults=[{"kind": "mirrors", "at": 1, "group": "storm"}])
    with pytest.raises(BadInput, match="unknown POP 'lax'"):
        parse(load={"pop_share": {"lax": 1}})


def test_wildcard_links_expand_to_every_edge():
    known = ["shield->origin", "edge-iad->shield", "edge-ams->shield", "client->edge-iad"]
    assert expand_link("edge-*->shield", known) == ["edge-iad->shield", "edge-ams->shield"]
    assert expand_link("shield->origin", known) == ["shield->origin"]


def test_unknown_scenario_name_suggests(tmp_path):
    with pytest.raises(BadInput, match="did you mean 'baseline'"):
        load_scenario("baseline2")
    with pytest.raises(BadInput, match="no such scenario file"):
        load_scenario(str(tmp_path / "nope.yaml"))


def test_a_scenario_file_from_anywhere(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({**BASE, "name": "mine"}))
    assert load_scenario(str(path)).name == "mine"


def test_schema_describes_the_fault_kinds():
    schema = json_schema()
    assert schema["title"] == "Scenario"
    text = str(schema)
    assert "latency_ms" in text and "origin_workers" in text


def test_models_are_frozen():
    scenario = parse()
    with pytest.raises(ValidationError, match="frozen"):
        scenario.name = "x"  # type: ignore[misc]
    assert isinstance(scenario, Scenario)


def test_compressing_the_network_clock_keeps_the_order_of_timeouts():
    from harness.scenario.clock import compress_network

    scenario = load_scenario("shield-origin-latency")
    fast = compress_network(scenario, 3)
    assert fast.topology.shield.backend.first_byte_timeout_s == 5
    assert fast.topology.edge.backend.first_byte_timeout_s == 5
    assert fast.topology.edge.backend.between_bytes_timeout_s == 20
    assert fast.topology.shield.backend.probe.timeout_s == pytest.approx(2 / 3)
    assert fast.topology.origin.read_timeout_s == 20
    assert fast.load.client_timeout_s == 10
    assert fast.faults[0].latency_ms == pytest.approx(20000 / 3)
    assert fast.faults[0].at == scenario.faults[0].at  # the timeline is --duration's business
    assert fast.topology.origin.service_times == scenario.topology.origin.service_times


def test_compressing_the_network_keeps_a_reset_after_a_whole_number_of_milliseconds():
    from harness.scenario.clock import compress_network

    scenario = parse(faults=[{"kind": "reset", "at": 5, "link": "shield->origin", "after_ms": 1000}])
    after_ms = compress_network(scenario, 3).faults[0].after_ms  # type: ignore[union-attr]
    assert after_ms == 333 and isinstance(after_ms, int)  # Toxiproxy takes whole milliseconds
    brief = parse(faults=[{"kind": "reset", "at": 5, "link": "shield->origin", "after_ms": 2}])
    assert compress_network(brief, 4).faults[0].after_ms == 1  # type: ignore[union-attr]
