import pytest
import yaml

from harness.errors import BadInput
from harness.scenario.topology import TopologyConfig, defaults_yaml, load_topology


def write(tmp_path, text):
    path = tmp_path / "topology.yaml"
    path.write_text(text)
    return path


def test_defaults_are_the_facts():
    config = load_topology(None)
    assert config.edges == ["iad", "ams", "sjc"]
    assert config.shield.backend.connect_timeout_s == 1.0
    assert config.shield.backend.first_byte_timeout_s == 15.0
    assert config.shield.backend.between_bytes_timeout_s == 10.0
    assert config.shield.backend.max_connections == 200
    # The VCL runs again at the shield POP: the service's own 15 s; between bytes fixed at 60 s.
    assert config.edge.backend.first_byte_timeout_s == 15.0
    assert config.edge.backend.between_bytes_timeout_s == 60.0
    assert config.edge.pass_backend.first_byte_timeout_s == 15.0  # edge -> origin (POST)
    assert config.shield.grace_healthy_s == 15 and config.shield.grace_sick_s == 86_400
    assert config.shield.not_found_ttl_s == 60
    assert config.shield.backend.retry_reused is True
    assert config.origin.journals_id_index is False
    assert config.origin.journal_rows == 1_154_000
    assert config.origin.web_nodes == 2
    assert config.origin.queue_max == 1024
    assert config.origin.read_timeout_s == 60.0
    assert config.origin.worker_kill_s == 60.0


def test_a_partial_file_keeps_the_other_defaults(tmp_path):
    path = write(tmp_path, "edge:\n  grace_healthy_s: 5\norigin:\n  worker_slots: 4\n")
    config = load_topology(path)
    assert config.edge.grace_healthy_s == 5
    assert config.edge.backend.between_bytes_timeout_s == 60.0  # not reset by the override
    assert config.origin.worker_slots == 4
    assert config.origin.queue_max == 1024


def test_printed_defaults_load_back_to_the_same_config(tmp_path):
    path = write(tmp_path, defaults_yaml())
    assert load_topology(path) == TopologyConfig()
    assert yaml.safe_load(defaults_yaml())["origin"]["journals_id_index"] is False


def test_unknown_setting_names_file_field_and_suggests(tmp_path):
    path = write(tmp_path, "origin:\n  worker_slot: 4\n")
    with pytest.raises(BadInput) as error:
        load_topology(path)
    message = str(error.value)
    assert message.startswith(f"{path}: origin.worker_slot: unknown setting")
    assert "did you mean 'worker_slots'" in message


def test_unknown_nested_setting(tmp_path):
    path = write(tmp_path, "shield:\n  backend:\n    first_byte_s: 2\n")
    with pytest.raises(BadInput) as error:
        load_topology(path)
    assert "shield.backend.first_byte_s: unknown setting" in str(error.value)
    assert "first_byte_timeout_s" in str(error.value)


def test_wrong_type_says_what_was_given(tmp_path):
    path = write(tmp_path, "origin:\n  worker_slots: many\n")
    with pytest.raises(BadInput) as error:
        load_topology(path)
    assert "origin.worker_slots:" in str(error.value)
    assert "got 'many'" in str(error.value)
    assert error.value.exit_code == 2


def test_bad_pop_names_are_refused(tmp_path):
    with pytest.raises(BadInput, match="edges: .*bad name 'I AD'"):
        load_topology(write(tmp_path, "edges: [iad, 'I AD']\n"))
    with pytest.raises(BadInput, match="unique"):
        load_topology(None, {"edges": ["iad", "iad"]})


def test_broken_yaml_names_line_and_column(tmp_path):
    path = write(tmp_path, "origin:\n  worker_slots: [1\n")
    with pytest.raises(BadInput, match=rf"{path}: line \d+, column \d+: not valid YAML"):
        load_topology(path)


def test_missing_file(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        load_topology(tmp_path / "nope.yaml")


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(BadInput, match="must be a mapping"):
        load_topology(write(tmp_path, "- 1\n- 2\n"))


def test_time_scale_compresses_cache_lifetimes_and_grace_but_not_timeouts():
    from harness.scenario.topology import scaled_cdn

    config = load_topology(None, {"time_scale": 60})
    edge = scaled_cdn(config.edge, config.time_scale)
    assert edge.cache_rules[0].ttl_s == 1440  # /simple/: a day -> 24 minutes
    assert edge.grace_healthy_s == 0.25 and edge.grace_sick_s == 1440
    assert edge.not_found_ttl_s == 1
    assert edge.backend.first_byte_timeout_s == 15.0
    assert edge.backend.probe is not None and edge.backend.probe.interval_s == 5.0


def test_the_cdn_kind_defaults_to_the_model_and_a_wrong_one_names_the_choices():
    from harness.errors import BadInput
    from harness.scenario.topology import CdnKind, load_topology

    assert load_topology(None).cdn is CdnKind.MODEL
    assert load_topology(None, {"cdn": "varnish"}).cdn is CdnKind.VARNISH
    with pytest.raises(BadInput, match="cdn"):
        load_topology(None, {"cdn": "squid"})
