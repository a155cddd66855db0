"""Starting the Locust process for a run, and waiting for it to end on its own."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

from harness.errors import InfrastructureError
from harness.load.plan import LoadPlan
from harness.topology.processes import log_tail, spawn, stop_all

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def user_classes(plan: LoadPlan) -> list[str]:
    mirrors = sum(group.count for group in plan.mirrors)
    return (
        ["PipUser", "BrowserUser"]
        + (["MirrorUser"] if mirrors else [])
        + (["MixUser"] if plan.mixes else [])
    )


def users(plan: LoadPlan) -> int:
    """pip, browser, one per mirror, one per mix (the locustfile counts the same way)."""
    return 2 + sum(group.count for group in plan.mirrors) + len(plan.mixes)


def locust_argv(plan: LoadPlan, start_margin_s: float) -> list[str]:
    users_total = users(plan)
    # A backstop only: the users end the run themselves once their last flow is done.
    run_time_s = math.ceil(start_margin_s + plan.duration_s + 3 * plan.client_timeout_s + 10)
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users_total),
        "--spawn-rate",
        str(users_total * 10),
        "--run-time",
        f"{run_time_s}s",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "5",
        "--exit-code-on-error",
        "0",
        *user_classes(plan),
    ]


class LocustProcess:
    def __init__(
        self, plan: LoadPlan, plan_path: Path, log_path: Path, start_margin_s: float
    ) -> None:
        import os

        plan_path.write_text(plan.model_dump_json(indent=2))
        env = {**os.environ, "SHIELDLAB_LOAD_PLAN": str(plan_path)}
        self.log_path = log_path
        self.deadline_s = start_margin_s + plan.duration_s + 3 * plan.client_timeout_s + 30
        self._started = time.monotonic()
        try:
            self.process = spawn(locust_argv(plan, start_margin_s), log_path, env=env)
        except OSError as error:
            raise InfrastructureError(f"cannot start locust: {error}") from None

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise InfrastructureError(
                f"locust exited early (code {code}): {log_tail(self.log_path)}"
            )

    def wait(self) -> int:
        remaining = self.deadline_s - (time.monotonic() - self._started)
        try:
            return self.process.wait(timeout=max(1.0, remaining))
        except subprocess.TimeoutExpired:
            self.stop()
            raise InfrastructureError(f"locust did not finish; see {self.log_path}") from None

    def stop(self) -> None:
        stop_all([self.process], grace_s=5.0)
