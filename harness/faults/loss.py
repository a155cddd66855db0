"""Real packet loss on a link: iptables rules the kernel enforces. Commands are built here as
pure functions (unit-tested); `LossBackend` runs them inside the run's network namespace.

Every link is a Toxiproxy listener on loopback, so a link's packets are the TCP packets to its
listening port (upstream: requests, and the ACKs of answers) and from it (downstream: answers).
Each direction gets two rules in the SHIELDLAB-LOSS chain: one that only counts what passes
(`seen`), then the `statistic` rule that drops (`dropped`); their packet counters give the loss
actually applied, scraped into the run's samples.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from harness.errors import InfrastructureError
from harness.records.samples import DROPPED, SEEN
from harness.scenario.steps import Direction
from harness.topology.processes import run_command

CHAIN = "SHIELDLAB-LOSS"
IPTABLES = "iptables"
COMMENT_PREFIX = "shieldlab"


@dataclass(frozen=True)
class DropPackets:
    """The kernel drops `probability` of the packets of `link` (listening on `port`)."""

    link: str
    port: int
    direction: Direction
    probability: float


def directions(direction: Direction) -> list[Direction]:
    if direction == Direction.BOTH:
        return [Direction.UPSTREAM, Direction.DOWNSTREAM]
    return [direction]


def _rule_specs(change: DropPackets) -> list[list[str]]:
    """The rule specifications (without -A/-D and chain), counting rule before dropping rule."""
    specs = []
    for way in directions(change.direction):
        port_match = "--dport" if way == Direction.UPSTREAM else "--sport"
        match = ["-p", "tcp", port_match, str(change.port)]
        comment = f"{COMMENT_PREFIX} link={change.link} direction={way.value}"
        specs.append([*match, "-m", "comment", "--comment", f"{comment} count={SEEN}"])
        specs.append(
            [
                *match,
                "-m",
                "statistic",
                "--mode",
                "random",
                "--probability",
                f"{change.probability:.6f}",
                "-m",
                "comment",
                "--comment",
                f"{comment} count={DROPPED}",
                "-j",
                "DROP",
            ]
        )
    return specs


def apply_commands(change: DropPackets) -> list[list[str]]:
    return [[IPTABLES, "-w", "-A", CHAIN, *spec] for spec in _rule_specs(change)]


def remove_commands(change: DropPackets) -> list[list[str]]:
    return [[IPTABLES, "-w", "-D", CHAIN, *spec] for spec in reversed(_rule_specs(change))]


# Where the chain is fed from. Local mode: every packet that arrives on loopback (there, a
# packet sent is also a packet received, so INPUT sees both directions). A container: the
# packets it receives (requests to a link's port) and those it sends (its answers).
LOOPBACK_FEEDS = (("INPUT", "-i", "lo"),)
CONTAINER_FEEDS = (("INPUT",), ("OUTPUT",))


def chain_commands(feeds: tuple[tuple[str, ...], ...] = LOOPBACK_FEEDS) -> list[list[str]]:
    """The chain every loss rule goes into, and the jumps that feed it."""
    return [[IPTABLES, "-w", "-N", CHAIN]] + [
        [IPTABLES, "-w", "-I", feed[0], *feed[1:], "-j", CHAIN] for feed in feeds
    ]


LIST_COMMAND = [IPTABLES, "-w", "-L", CHAIN, "-v", "-x", "-n"]
_COUNTER = re.compile(
    rf"^\s*(?P<packets>\d+)\s+\d+\s.*/\* {COMMENT_PREFIX} link=(?P<link>\S+) "
    rf"direction=(?P<direction>\w+) count=(?P<count>\w+) \*/"
)


@dataclass(frozen=True)
class LossCounter:
    link: str
    direction: str
    count: str  # seen | dropped
    packets: int


def parse_counters(listing: str) -> list[LossCounter]:
    """The counters of every loss rule in `iptables -L SHIELDLAB-LOSS -v -x -n` output."""
    counters = []
    for line in listing.splitlines():
        match = _COUNTER.match(line)
        if match:
            counters.append(
                LossCounter(
                    match["link"], match["direction"], match["count"], int(match["packets"])
                )
            )
    return counters


def drop_fraction(seen: int, dropped: int) -> float | None:
    """Dropped / arrived. The counting rule has no target, so every packet of the link passes
    it and then meets the dropping rule: `seen` is the total, `dropped` the part dropped."""
    return dropped / seen if seen else None


class LossBackend:
    """Applies and removes loss rules with the real iptables, in the current namespace or, with
    `enter` (e.g. `nsenter -t PID -n`), in another one."""

    def __init__(
        self,
        feeds: tuple[tuple[str, ...], ...] = LOOPBACK_FEEDS,
        enter: tuple[str, ...] = (),
    ) -> None:
        if shutil.which(IPTABLES) is None:
            raise InfrastructureError(
                "iptables is not installed; packet loss needs it (`make setup` installs it)"
            )
        self.enter = list(enter)
        for argv in chain_commands(feeds):
            run_command(self.enter + argv)

    def apply(self, change: DropPackets) -> None:
        for argv in apply_commands(change):
            run_command(self.enter + argv)

    def remove(self, change: DropPackets) -> None:
        for argv in remove_commands(change):
            run_command(self.enter + argv)

    def counters(self) -> list[LossCounter]:
        return parse_counters(run_command(self.enter + LIST_COMMAND))
