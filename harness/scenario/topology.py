"""The topology's settings: which nodes, and how each behaves. Every default is from the
real 2014 system (the README's "The real system").

`shieldlab defaults` prints them as YAML; `--config FILE` overrides any subset.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from harness.scenario.reader import deep_merge, read_yaml_mapping, validate
from proxies.contract import CdnNodeSettings, OriginSettings, default_edge_settings

POP_NAME = re.compile(r"^[a-z][a-z0-9]{1,15}$")


class CdnKind(StrEnum):
    """What runs the shield and the edges: the Python model of Fastly on Varnish 2.1, or a
    real Varnish 7.1 (`varnishd`) with VCL generated from the same settings."""

    MODEL = "model"
    VARNISH = "varnish"


class TopologyConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    edges: list[str] = Field(
        default_factory=lambda: ["iad", "ams", "sjc"], min_length=1, max_length=16
    )
    origin: OriginSettings = OriginSettings()
    shield: CdnNodeSettings = CdnNodeSettings()
    edge: CdnNodeSettings = Field(default_factory=default_edge_settings)
    cdn: CdnKind = CdnKind.MODEL
    startup_timeout_s: float = Field(default=60.0, gt=0, le=600)
    # Compresses the incident's clock: cache lifetimes and grace (and the mirrors' cron) run
    # this many times faster; timeouts, latencies and the fault timeline do not.
    time_scale: float = Field(default=1.0, ge=1.0, le=10_000)

    @field_validator("edges")
    @classmethod
    def _validate_edges(cls, edges: list[str]) -> list[str]:
        for pop in edges:
            if not POP_NAME.match(pop):
                raise ValueError(
                    f"POP names are 2-16 lowercase letters or digits, starting with a letter; "
                    f"bad name {pop!r}"
                )
        if len(set(edges)) != len(edges):
            raise ValueError(f"POP names must be unique; got {edges}")
        return edges


def defaults_dict() -> dict[str, Any]:
    return TopologyConfig().model_dump(mode="json")


def defaults_yaml() -> str:
    header = (
        "# shieldlab topology defaults (the README: The real system). Copy any subset into a file and pass it\n"
        "# with --config; what you leave out keeps these values.\n"
    )
    return header + yaml.safe_dump(defaults_dict(), sort_keys=False)


def load_topology(path: Path | None, overrides: dict[str, Any] | None = None) -> TopologyConfig:
    """Defaults, then the file at `path`, then `overrides` (e.g. `--edges`)."""
    data = defaults_dict()
    source = "defaults"
    if path is not None:
        data = deep_merge(data, read_yaml_mapping(path))
        source = str(path)
    if overrides:
        data = deep_merge(data, overrides)
    return validate(source, TopologyConfig, data)


def scaled_cdn(settings: CdnNodeSettings, time_scale: float) -> CdnNodeSettings:
    """The node settings with cache lifetimes and grace compressed by `time_scale`."""
    rules = [r.model_copy(update={"ttl_s": r.ttl_s / time_scale}) for r in settings.cache_rules]
    return settings.model_copy(
        update={
            "cache_rules": rules,
            "not_found_ttl_s": settings.not_found_ttl_s / time_scale,
            "grace_healthy_s": settings.grace_healthy_s / time_scale,
            "grace_sick_s": settings.grace_sick_s / time_scale,
        }
    )
