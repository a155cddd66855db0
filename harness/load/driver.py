"""Starting Locust for a run, as one process or as a master with worker processes, waiting for
it to end on its own, and joining every process's request records into requests.csv.

A run with mirrors and one process's worth of arrivals runs two independent Locust processes on
the same timeline: the open-model arrivals (pip, browsers, mixes) in one, the closed-loop
mirrors in the other. A mirror storm (hundreds of sync workers parsing XML-RPC answers and
reading files) in the arrivals' event loop stalled it for a second at a time here, so flows
started late and the run was void; apart, each keeps its own schedule."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

from harness.errors import InfrastructureError
from harness.load.plan import LoadPlan, mirror_class, mix_class
from harness.records.request import join_parts
from harness.topology.processes import free_port, log_tail, spawn, stop_all

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


ARRIVAL_CLASSES = ["PipUser", "BrowserUser"]


def arrival_classes(plan: LoadPlan) -> list[str]:
    return ARRIVAL_CLASSES + [mix_class(i) for i in range(len(plan.mixes))]


def mirror_classes(plan: LoadPlan) -> list[str]:
    return [mirror_class(i) for i in range(len(plan.mirrors))]


def user_classes(plan: LoadPlan) -> list[str]:
    return ARRIVAL_CLASSES + mirror_classes(plan) + [mix_class(i) for i in range(len(plan.mixes))]


def users(plan: LoadPlan, classes: list[str] | None = None) -> int:
    """pip, browser and each mix: one user per process; one per mirror (as the locustfile);
    of `classes` only, when given."""
    wanted = set(classes if classes is not None else user_classes(plan))
    arrivals = sum(c in wanted for c in arrival_classes(plan)) * plan.processes
    mirrors = sum(g.count for i, g in enumerate(plan.mirrors) if mirror_class(i) in wanted)
    return arrivals + mirrors


def split_classes(plan: LoadPlan) -> list[list[str]]:
    """The user classes of each independent process: arrivals apart from mirrors."""
    return [arrival_classes(plan), *([mirror_classes(plan)] if plan.mirrors else [])]


def run_time_s(plan: LoadPlan, start_margin_s: float) -> int:
    # A backstop only: the users end the run themselves once their last flow is done.
    return math.ceil(start_margin_s + plan.duration_s + 3 * plan.client_timeout_s + 10)


def locust_options(
    plan: LoadPlan, start_margin_s: float, classes: list[str] | None = None
) -> dict[str, str]:
    """The one process's, or the master's, options: it runs the test and sends users to its
    workers. Flags have the value "true"."""
    users_total = users(plan, classes)
    return {
        "headless": "true",
        "users": str(users_total),
        "spawn-rate": str(users_total * 10),
        "run-time": f"{run_time_s(plan, start_margin_s)}s",
        "only-summary": "true",
        "loglevel": "WARNING",
        "stop-timeout": "5",
        "exit-code-on-error": "0",
    }


def options_argv(options: dict[str, str]) -> list[str]:
    argv = []
    for key, value in options.items():
        argv += [f"--{key}"] if value == "true" else [f"--{key}", value]
    return argv


def options_config(options: dict[str, str]) -> str:
    """The same options as a Locust config file (`locust --config FILE`)."""
    return "".join(f"{key} = {value}\n" for key, value in options.items())


def locust_argv(
    plan: LoadPlan, start_margin_s: float, classes: list[str] | None = None
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        *options_argv(locust_options(plan, start_margin_s, classes)),
        *(classes if classes is not None else user_classes(plan)),
    ]


def master_argv(plan: LoadPlan, start_margin_s: float, port: int) -> list[str]:
    return locust_argv(plan, start_margin_s) + [
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(port),
        "--expect-workers",
        str(plan.processes),
    ]


def worker_argv(port: int) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
        "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING",
    ]  # fmt: skip


class LocustProcess:
    def __init__(
        self, plan: LoadPlan, plan_path: Path, log_path: Path, start_margin_s: float
    ) -> None:
        plan_path.write_text(plan.model_dump_json(indent=2))
        env = {**os.environ, "SHIELDLAB_LOAD_PLAN": str(plan_path)}
        self.records = Path(plan.records_path)
        self.log_path = log_path
        self.deadline_s = run_time_s(plan, start_margin_s) + 20  # after Locust's own backstop
        self._started = time.monotonic()
        self.workers: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.parts: dict[str, int] = {}  # records per process, once joined
        try:
            if plan.processes == 1:
                groups = split_classes(plan)
                self.process = spawn(
                    locust_argv(plan, start_margin_s, groups[0]), log_path, env=env
                )
                for i, classes in enumerate(groups[1:]):
                    log = log_path.with_name(f"locust-mirrors{i}.log")
                    argv = locust_argv(plan, start_margin_s, classes)
                    self.workers.append((spawn(argv, log, env=env), log))
            else:
                port = free_port()
                self.process = spawn(master_argv(plan, start_margin_s, port), log_path, env=env)
                for i in range(plan.processes):
                    log = log_path.with_name(f"locust-worker{i}.log")
                    self.workers.append((spawn(worker_argv(port), log, env=env), log))
        except OSError as error:
            self.stop()
            raise InfrastructureError(f"cannot start locust: {error}") from None
        except BaseException:  # Ctrl-C between two spawns: none of them is left behind
            self.stop()
            raise

    def check_alive(self) -> None:
        for process, log in [(self.process, self.log_path), *self.workers]:
            code = process.poll()
            if code is not None:
                raise InfrastructureError(f"locust exited early (code {code}): {log_tail(log)}")

    def wait(self) -> int:
        remaining = self.deadline_s - (time.monotonic() - self._started)
        try:
            code = self.process.wait(timeout=max(1.0, remaining))
            for worker, _log in self.workers:  # workers quit before the master does
                worker.wait(timeout=max(15.0, self.deadline_s - (time.monotonic() - self._started)))
            return code
        except subprocess.TimeoutExpired:
            self.stop()
            raise InfrastructureError(f"locust did not finish; see {self.log_path}") from None

    def stop(self) -> None:
        """Stop every process, then join their records (also when the run was cut short)."""
        master = getattr(self, "process", None)
        processes = ([master] if master is not None else []) + [w for w, _ in self.workers]
        stop_all(processes, grace_s=5.0)
        self.parts = join_parts(self.records)
