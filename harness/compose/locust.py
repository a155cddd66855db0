"""Locust in compose mode: a master container and N worker containers, started with Compose,
watched and waited for through the Engine API, every worker's records joined into the run's
requests.csv (the run directory is mounted into them).

The master reads its options from a Locust config file the harness writes into the run
directory; the users are every class the locustfile defines for the plan, as in local mode.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import requests
from docker.models.containers import Container

from harness.compose.project import DOWN_TIMEOUT_S, ComposeProject, log_name
from harness.compose.spec import (
    LOCUST_CONFIG,
    LOCUSTFILE,
    RUN_DIR_VARIABLE,
    RUN_MOUNT,
    USER_VARIABLE,
)
from harness.errors import InfrastructureError
from harness.load.driver import locust_options, options_config, run_time_s
from harness.load.plan import LoadPlan
from harness.records import files
from harness.records.request import join_parts

MASTER = "locust-master"
WORKER = "locust-worker"


def container_plan(plan: LoadPlan, workers: int) -> LoadPlan:
    """The plan as the containers see it: records in the mounted run directory, the rate
    shared by `workers` processes."""
    return plan.model_copy(
        update={"records_path": f"{RUN_MOUNT}/{files.REQUESTS_FILE}", "processes": workers}
    )


def master_config(plan: LoadPlan, start_margin_s: float) -> str:
    options = locust_options(plan, start_margin_s)
    options.update(
        {"locustfile": LOCUSTFILE, "master": "true",
         "expect-workers": str(plan.processes)}
    )  # fmt: skip
    return options_config(options)


class LocustContainers:
    def __init__(
        self, project: ComposeProject, plan: LoadPlan, run_dir: Path, start_margin_s: float
    ) -> None:
        self.project = project
        self.run_dir = run_dir
        self.records = run_dir / files.REQUESTS_FILE
        (run_dir / files.PLAN_FILE).write_text(plan.model_dump_json(indent=2))
        (run_dir / LOCUST_CONFIG).write_text(master_config(plan, start_margin_s))
        self.deadline_s = run_time_s(plan, start_margin_s) + 20  # after Locust's own backstop
        self.parts: dict[str, int] = {}  # records per process (container-pid), once joined
        self._started = time.monotonic()
        self.env = {
            RUN_DIR_VARIABLE: str(run_dir.resolve()),
            USER_VARIABLE: f"{os.getuid()}:{os.getgid()}",  # the run's files stay the user's
        }
        try:
            project.compose(
                "--profile", "load", "up", "--detach", "--no-deps",
                "--scale", f"{WORKER}={plan.processes}", MASTER, WORKER, env=self.env,
            )  # fmt: skip
        except InfrastructureError:
            self.stop()
            raise

    def _load_containers(self) -> list[Container]:
        return [c for service in (MASTER, WORKER) for c in self.project.containers(service)]

    def check_alive(self) -> None:
        for container in self._load_containers():
            state = container.attrs["State"]
            if state["Status"] != "running":
                tail = container.logs(tail=5).decode(errors="replace").strip()
                raise InfrastructureError(
                    f"locust container {container.name} exited early "
                    f"(code {state['ExitCode']}): {tail}"
                )

    def wait(self) -> int:
        master = self.project.container(MASTER)
        remaining = self.deadline_s - (time.monotonic() - self._started)
        try:
            code = int(master.wait(timeout=max(1.0, remaining))["StatusCode"])
            for worker in self.project.containers(WORKER):  # they quit before the master
                worker.wait(timeout=15)
            return code
        except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout):
            self.stop()
            raise InfrastructureError(
                f"locust did not finish; see {self.run_dir / files.LOCUST_LOG}"
            ) from None

    def stop(self) -> None:
        """Keep the containers' logs, remove them, then join the records (also when the run
        was cut short)."""
        try:
            for container in self._load_containers():
                name = log_name(container)
                log = files.LOCUST_LOG if name.startswith(MASTER) else f"{name}.log"
                self.project.save_log(container, self.run_dir / log)
            self.project.compose(
                "--profile", "load", "rm", "--stop", "--force", "--volumes", MASTER, WORKER,
                env=self.env, timeout_s=DOWN_TIMEOUT_S,
            )  # fmt: skip
        finally:
            self.parts = join_parts(self.records)
