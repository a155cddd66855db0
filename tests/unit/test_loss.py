"""Packet loss as iptables rules: the commands (a pure function of link and fault) and the
counters read back. The rules themselves are exercised for real in the integration tests."""

import pytest

from harness.errors import BadInput
from harness.faults.loss import (
    CHAIN,
    DropPackets,
    LossCounter,
    apply_commands,
    chain_commands,
    drop_fraction,
    parse_counters,
    remove_commands,
)
from harness.scenario.model import parse_scenario
from harness.scenario.steps import Direction
from harness.topology import netns

UPSTREAM = DropPackets("shield->origin", 40123, Direction.UPSTREAM, 0.2)


def test_one_direction_is_a_counting_rule_then_a_dropping_rule_on_the_links_port():
    count, drop = apply_commands(UPSTREAM)
    assert count[:4] == ["iptables", "-w", "-A", CHAIN]
    assert count[4:8] == ["-p", "tcp", "--dport", "40123"]
    assert count[-1] == "shieldlab link=shield->origin direction=upstream count=seen"
    assert "-j" not in count  # it only counts
    assert drop[drop.index("--probability") + 1] == "0.200000"
    assert drop[-2:] == ["-j", "DROP"]
    assert "shieldlab link=shield->origin direction=upstream count=dropped" in drop


def test_downstream_matches_the_source_port_and_both_gives_both():
    down = DropPackets("edge-iad->shield", 40999, Direction.DOWNSTREAM, 0.05)
    assert all("--sport" in argv for argv in apply_commands(down))
    both = DropPackets("edge-iad->shield", 40999, Direction.BOTH, 0.05)
    ports = [argv[argv.index("tcp") + 1] for argv in apply_commands(both)]
    assert ports == ["--dport", "--dport", "--sport", "--sport"]


def test_removal_deletes_the_same_rules_in_reverse():
    applied = apply_commands(UPSTREAM)
    removed = remove_commands(UPSTREAM)
    assert [a[4:] for a in reversed(applied)] == [r[4:] for r in removed]
    assert all(r[2] == "-D" for r in removed)


def test_the_chain_is_fed_by_loopback_input():
    create, hook = chain_commands()
    assert create == ["iptables", "-w", "-N", CHAIN]
    assert hook == ["iptables", "-w", "-I", "INPUT", "-i", "lo", "-j", CHAIN]


def test_in_a_container_the_chain_sees_what_it_receives_and_what_it_sends():
    from harness.faults.loss import CONTAINER_FEEDS

    _create, *hooks = chain_commands(CONTAINER_FEEDS)
    assert hooks == [
        ["iptables", "-w", "-I", "INPUT", "-j", CHAIN],
        ["iptables", "-w", "-I", "OUTPUT", "-j", CHAIN],
    ]


LISTING = """Chain SHIELDLAB-LOSS (1 references)
    pkts      bytes target     prot opt in     out     source               destination
    5000   300000            6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:40123 /* shieldlab link=shield->origin direction=upstream count=seen */
    1012    60720 DROP       6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:40123 statistic mode random probability 0.20000000019 /* shieldlab link=shield->origin direction=upstream count=dropped */
"""


def test_counters_are_read_back_from_the_listing_and_give_the_drop_fraction():
    seen, dropped = parse_counters(LISTING)
    assert seen == LossCounter("shield->origin", "upstream", "seen", 5000)
    assert dropped == LossCounter("shield->origin", "upstream", "dropped", 1012)
    assert drop_fraction(seen.packets, dropped.packets) == pytest.approx(0.2024)
    assert drop_fraction(0, 0) is None
    assert parse_counters("Chain SHIELDLAB-LOSS (0 references)\n") == []


def test_a_loss_fault_is_validated_and_marks_the_scenario():
    data = {"name": "t", "description": "d", "hypothesis": "h"}
    loss = {"kind": "loss", "at": 1, "link": "shield->origin", "probability": 0.05}
    scenario = parse_scenario("t.yaml", data | {"faults": [loss]})
    assert scenario.needs_packet_loss and scenario.faults[0].direction == Direction.BOTH
    assert not parse_scenario("t.yaml", data).needs_packet_loss
    with pytest.raises(
        BadInput, match=r"faults\[0\].probability: Input should be less than or equal to 1"
    ):
        parse_scenario("t.yaml", data | {"faults": [loss | {"probability": 5}]})
    with pytest.raises(BadInput, match=r"faults\[0\].direction: must be one of"):
        parse_scenario("t.yaml", data | {"faults": [loss | {"direction": "sideways"}]})


def test_only_namespaces_of_dead_harnesses_are_swept(tmp_path, monkeypatch):
    monkeypatch.setattr(netns, "NETNS_DIR", tmp_path)
    for name in ("shieldlab-1-1", "shieldlab-99999999-2", "other-ns"):
        (tmp_path / name).touch()
    deleted = []
    monkeypatch.setattr(netns, "pid_alive", lambda pid: pid == 1)
    monkeypatch.setattr(netns, "run_command", lambda argv: deleted.append(argv[-1]))
    assert netns.sweep() == ["shieldlab-99999999-2"]
    assert deleted == ["shieldlab-99999999-2"]


def test_without_net_admin_a_loss_run_is_refused_with_the_fix():
    no_caps = "Name:\tpython\nCapEff:\t0000000000000000\n"
    message = netns.missing_privileges(no_caps)
    assert message is not None and "CAP_NET_ADMIN and CAP_SYS_ADMIN" in message
    assert "run as root" in message
    only_sys_admin = f"CapEff:\t{1 << 21:016x}\n"
    assert "needs CAP_NET_ADMIN (run as root)" in (netns.missing_privileges(only_sys_admin) or "")


def test_loss_fidelity_allows_10_percent_or_3_standard_deviations():
    from harness.bench.loss import within_target

    assert within_target(0.2, 0.21, 20_000)  # 5 % off: within 10 %
    assert not within_target(0.2, 0.23, 20_000)  # 15 % off, 3 sd is 0.0085
    assert within_target(0.01, 0.015, 3_000)  # few packets: 3 sd = 0.0054 is the wider
    assert not within_target(0.01, 0.02, 3_000)
    assert not within_target(0.05, 0.05, 0)  # nothing counted proves nothing
