"""Any YAML the CLI reads that is hostile gets one line (BadInput, exit 2), never a traceback."""

import pytest

from harness.errors import EXIT_BAD_INPUT, BadInput
from harness.gate.suite import load_suite
from harness.scenario.model import load_scenario
from harness.scenario.topology import load_topology
from harness.validate.signature import load_signature

BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]
"""
HOSTILE = {
    "deeply nested": ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32 levels"),
    "alias bomb": (BOMB, "aliases .* are not supported"),
    "a huge integer": ("seed: " + "9" * 10_000 + "\n", "a value YAML cannot hold"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\xff\xfe\x00", "not UTF-8 text"),
    "NUL bytes": ("name: x\x00y\n", "not valid YAML"),
    "a list at the top": ("- 1\n- 2\n", "must be a mapping"),
}
LOADERS = {
    "scenario": load_scenario,
    "suite": load_suite,
    "signature": load_signature,
    "topology": lambda path: load_topology(path, {}),
}


@pytest.mark.parametrize("loader", list(LOADERS))
@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_yaml_is_one_line_with_exit_2(tmp_path, case, loader):
    content, message = HOSTILE[case]
    path = tmp_path / "hostile.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(BadInput, match=message) as caught:
        LOADERS[loader](str(path) if loader != "topology" else path)
    assert caught.value.exit_code == EXIT_BAD_INPUT
    assert "\n" not in str(caught.value) and str(caught.value).startswith(str(path))


def test_infinite_numbers_are_refused_by_the_models(tmp_path):
    path = tmp_path / "inf.yaml"
    path.write_text("name: x\ndescription: d\nhypothesis: h\nload: {duration_s: 1.0e999}\n")
    with pytest.raises(BadInput, match="load.duration_s: Input should be a finite number"):
        load_scenario(str(path))
    path.write_text("time_scale: .inf\n")
    with pytest.raises(BadInput, match="time_scale: Input should be a finite number"):
        load_topology(path, {})


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("a: " + "x" * (2 * 1024 * 1024) + "\n")
    with pytest.raises(BadInput, match="too large"):
        load_scenario(str(path))
