"""The VCL a Varnish node runs, generated from the model's settings: the golden files (compiled
by real varnishd in the integration suite) and what each setting becomes."""

import os
from pathlib import Path

import pytest

from proxies.contract import (
    BackendSettings,
    CacheRule,
    CdnNodeSettings,
    NodeLaunch,
    ProbeSettings,
    default_edge_settings,
)
from proxies.varnish import vcl

GOLDEN = Path(__file__).parents[1] / "golden"
WEBS = {"origin-1": "http://127.0.0.1:20001", "origin-2": "http://127.0.0.1:20002"}


def shield_launch(settings: CdnNodeSettings | None = None) -> NodeLaunch:
    return NodeLaunch(
        name="shield",
        cdn=settings or CdnNodeSettings(),
        upstreams=WEBS,
        passes=WEBS,
        fallbacks={"mirror": "http://127.0.0.1:20003"},
        ready_file="/unused",
    )


def edge_launch() -> NodeLaunch:
    return NodeLaunch(
        name="edge-iad",
        cdn=default_edge_settings(),
        upstreams={"shield": "http://127.0.0.1:20010"},
        passes={"origin-1": "http://127.0.0.1:20011", "origin-2": "http://127.0.0.1:20012"},
        ready_file="/unused",
    )


GOLDEN_NODES = {"shield.vcl": shield_launch, "edge-iad.vcl": edge_launch}


@pytest.mark.parametrize("name", sorted(GOLDEN_NODES))
def test_the_generated_vcl_is_the_golden_file(name):
    text = vcl.render(vcl.plan_for(GOLDEN_NODES[name](), metrics_port=20099))
    golden = GOLDEN / name
    if os.environ.get("SHIELDLAB_UPDATE_GOLDEN"):
        golden.write_text(text)
    assert text == golden.read_text(), f"regenerate with SHIELDLAB_UPDATE_GOLDEN=1 ({golden})"


def test_a_backend_named_for_fill_and_pass_is_one_backend_with_the_fill_settings():
    slow_pass = CdnNodeSettings(pass_backend=BackendSettings(first_byte_timeout_s=99))
    plan = vcl.plan_for(shield_launch(slow_pass), 1)
    assert [b.name for b in plan.backends] == ["origin-1", "origin-2", "mirror"]
    text = vcl.render(plan)
    assert text.count("backend origin_1 {") == 1
    assert ".first_byte_timeout = 15s;" in text and ".first_byte_timeout = 99s;" not in text


def test_every_backend_setting_reaches_the_vcl():
    backend = BackendSettings(
        connect_timeout_s=0.5,
        first_byte_timeout_s=7.25,
        between_bytes_timeout_s=3,
        max_connections=17,
        probe=ProbeSettings(
            path="/daytime", interval_s=1.5, timeout_s=0.4, window=5, threshold=2, initial=1
        ),
    )
    text = vcl.render(vcl.plan_for(shield_launch(CdnNodeSettings(backend=backend)), 1))
    for line in (
        ".connect_timeout = 0.5s;",
        ".first_byte_timeout = 7.25s;",
        ".between_bytes_timeout = 3s;",
        ".max_connections = 17;",
        '.url = "/daytime";',
        ".interval = 1.5s;",
        ".timeout = 0.4s;",
        ".window = 5;",
        ".threshold = 2;",
        ".initial = 1;",
    ):
        assert line in text


def test_a_backend_without_a_probe_has_none():
    unprobed = CdnNodeSettings(
        backend=BackendSettings(probe=None), pass_backend=BackendSettings(probe=None)
    )
    text = vcl.render(vcl.plan_for(shield_launch(unprobed), 1))
    origin_block = text.split("backend origin_1 {", 1)[1].split("\n}", 1)[0]
    assert ".probe" not in origin_block


def test_grace_and_lifetimes_come_from_the_settings():
    settings = CdnNodeSettings(
        grace_healthy_s=1.5,
        grace_sick_s=864,
        not_found_ttl_s=6,
        cache_rules=[CacheRule(path_regex=r"^/simple/", ttl_s=8.64)],
    )
    text = vcl.render(vcl.plan_for(shield_launch(settings), 1))
    assert "set req.grace = 1.5s;" in text and "set req.grace = 864s;" in text
    assert "set beresp.grace = 864s;" in text  # objects are kept as long as the longer grace
    assert "set beresp.ttl = 6s;" in text  # 404s
    assert 'var.get("path") ~ {"^/simple/"}' in text and "set beresp.ttl = 8.64s;" in text


def test_the_shield_falls_back_to_the_mirror_and_an_edge_has_no_fallback():
    shield = vcl.render(vcl.plan_for(shield_launch(), 1))
    assert "fill_fallback.add_backend(mirror, 1);" in shield
    assert "fill.add_backend(fill_fallback.backend());" in shield
    edge = vcl.render(vcl.plan_for(edge_launch(), 1))
    assert "fill_fallback" not in edge and "fill_primary.add_backend(shield, 1);" in edge
    assert "passes.add_backend(origin_2, 1);" in edge


def test_the_health_page_names_every_backend_by_its_lab_name():
    text = vcl.render(vcl.plan_for(edge_launch(), 1))
    assert '{""shield": "} + std.healthy(shield)' in text
    assert '{", "origin-2": "} + std.healthy(origin_2)' in text


def test_a_vcl_include_is_placed_between_the_labs_logic_and_its_decisions(tmp_path):
    fragment = tmp_path / "team.vcl"
    launch = edge_launch()
    assert launch.cdn is not None
    with_include = launch.model_copy(
        update={"cdn": launch.cdn.model_copy(update={"vcl_include": str(fragment)})}
    )
    text = vcl.render(vcl.plan_for(with_include, 1))
    include = f'include "{fragment}";'
    assert text.index("set req.backend_hint = fill.backend();") < text.index(include)
    assert text.index(include) < text.rindex("return (hash);")


def test_a_backend_url_without_a_port_is_refused():
    launch = shield_launch().model_copy(update={"upstreams": {"origin-1": "http://web"}})
    with pytest.raises(ValueError, match="origin-1: no host:port"):
        vcl.plan_for(launch, 1)


def test_names_and_strings_are_made_safe_for_vcl():
    assert vcl.identifier("edge-iad") == "edge_iad"
    assert vcl.duration(86_400) == "86400s" and vcl.duration(0.015) == "0.015s"
    assert vcl.long_string("^/a$") == '{"^/a$"}'
    with pytest.raises(ValueError):
        vcl.long_string('a"}b')
