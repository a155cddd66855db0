"""`python -m proxies.origin --launch FILE`: the mock PyPI backend as a process."""

from __future__ import annotations

from pathlib import Path

from proxies.contract import NodeLaunch, OriginSettings
from proxies.origin import dataset
from proxies.origin.app import Database, Origin, build_sites
from proxies.serve import Served, main


async def create(launch: NodeLaunch) -> Served:
    if launch.origin is None or launch.database_path is None or launch.dataset_cache_dir is None:
        raise SystemExit("origin: the launch file needs origin, database_path, dataset_cache_dir")
    settings: OriginSettings = launch.origin
    database_path = Path(launch.database_path)
    dataset.prepare(Path(launch.dataset_cache_dir), database_path, settings)
    threads = max(8, min(64, settings.worker_slots * settings.web_nodes * 2))
    return Served(build_sites(Origin(settings, Database(database_path, threads))))


if __name__ == "__main__":
    main(create)
