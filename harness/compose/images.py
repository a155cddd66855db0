"""`make compose-images`: the images compose mode runs, built without a registry when need be.

- base: the official slim Python 3.11 image when the engine has it or can pull it; otherwise
  a Debian bookworm root made by debootstrap from the host's own Debian mirror (read from its
  apt sources), imported with `docker import`;
- node: `Dockerfile` on that base, the Python packages from a wheelhouse built here;
- node-varnish: the same `Dockerfile` on a base that has Debian's varnish and
  varnish-modules too (debootstrap includes them; on the official base, `apt-get install`),
  for `cdn: varnish`;
- toxiproxy: the pinned server and CLI built statically (CGO off) on `scratch`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from harness.compose import engine
from harness.compose.spec import NODE_IMAGE, TOXIPROXY_IMAGE, VARNISH_NODE_IMAGE
from harness.errors import InfrastructureError, exit_code_of
from harness.topology.control import default_state_dir

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / ".venv" / "docker"
OFFICIAL_BASE = "python:3.11-slim"
LOCAL_BASE = "shieldlab/base:bookworm"
LOCAL_VARNISH_BASE = "shieldlab/base-varnish:bookworm"
TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2"
TOXIPROXY_VERSION = "v2.12.0"
DEBOOTSTRAP_PACKAGES = "python3,python3-venv,ca-certificates"
VARNISH_PACKAGES = "varnish,varnish-modules"  # Debian bookworm's: Varnish 7.1, xkey and var


def _run(argv: list[str], timeout_s: float = 1800, **kwargs: object) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, check=False, **kwargs
        )  # type: ignore[call-overload]
    except (OSError, subprocess.TimeoutExpired) as error:
        raise InfrastructureError(f"{argv[0]}: {error}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise InfrastructureError(f"{' '.join(argv[:3])}: failed: {' | '.join(tail)}")
    return str(done.stdout)


def _has_image(name: str) -> bool:
    return (
        subprocess.run(
            ["docker", "image", "inspect", name], capture_output=True, timeout=30, check=False
        ).returncode
        == 0
    )


def debian_mirror() -> str:
    """The host's Debian mirror, from its apt sources (deb822 or one-line format)."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.is_file():
        for line in deb822.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    classic = Path("/etc/apt/sources.list")
    if classic.is_file():
        for line in classic.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb":
                return parts[1]
    raise InfrastructureError(
        "no Debian mirror in /etc/apt/sources.list(.d); needed to build a base image without a "
        "registry"
    )


def base_image() -> str:
    if _has_image(OFFICIAL_BASE):
        return OFFICIAL_BASE
    pulled = subprocess.run(
        ["docker", "pull", OFFICIAL_BASE], capture_output=True, timeout=120, check=False
    )
    if pulled.returncode == 0:
        return OFFICIAL_BASE
    return _debootstrapped(LOCAL_BASE, DEBOOTSTRAP_PACKAGES)


def varnish_base_image(base: str) -> str:
    """`base` with Varnish: installed with apt on the official image (a registry, so a
    network), made by debootstrap with it otherwise."""
    if base != OFFICIAL_BASE:
        return _debootstrapped(LOCAL_VARNISH_BASE, f"{DEBOOTSTRAP_PACKAGES},{VARNISH_PACKAGES}")
    build("varnish base image", ["docker", "build", "--build-arg", f"BASE_IMAGE={base}",
                                 "-t", LOCAL_VARNISH_BASE, "-f", "Dockerfile.varnish-base", "."])  # fmt: skip
    return LOCAL_VARNISH_BASE


def _debootstrapped(tag: str, packages: str) -> str:
    """A Debian bookworm root with `packages`, imported as `tag` (kept: made once)."""
    if _has_image(tag):
        return tag
    if shutil.which("debootstrap") is None:
        raise InfrastructureError(
            f"cannot pull {OFFICIAL_BASE} and debootstrap is missing; `apt-get install "
            "debootstrap` (make compose-images does, as root)"
        )
    root = BUILD / "rootfs"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        _run(["debootstrap", "--variant=minbase", f"--include={packages}",
              "bookworm", str(root), debian_mirror()])  # fmt: skip
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        _run(["docker", "import", "-", tag], stdin=tar.stdout)
        tar.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return tag


def wheelhouse() -> None:
    wheels = BUILD / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    try:
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "-w", str(wheels), str(ROOT)])
    finally:
        shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools builds in the tree


def toxiproxy_binaries() -> None:
    out = BUILD / "toxiproxy"
    out.mkdir(parents=True, exist_ok=True)
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = {**os.environ, "CGO_ENABLED": "0", "GOBIN": str(out), "GOFLAGS": "-mod=mod"}
    for command, name in (("server", "toxiproxy-server"), ("cli", "toxiproxy-cli")):
        _run([go, "install", f"{TOXIPROXY_MODULE}/cmd/{command}@{TOXIPROXY_VERSION}"], env=env)
        (out / command).rename(out / name)


SOURCE_LABEL = "io.shieldlab.source"


def source_digest(root: Path = ROOT) -> str:
    """A digest of what the node image is built from: the project's Python sources, the VCL
    template and its dependencies. The image carries it as a label; a run refuses an image
    built from others."""
    digest = hashlib.sha256()
    paths = [root / "pyproject.toml"]
    for package in ("harness", "proxies"):
        paths += sorted((root / package).rglob("*.py")) + sorted((root / package).rglob("*.vcl"))
    for path in paths:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build(step: str, argv: list[str]) -> float:
    started = time.monotonic()
    print(f"{step} ...", flush=True)
    _run(argv, env={**os.environ, "DOCKER_BUILDKIT": "0"}, cwd=ROOT)
    took = time.monotonic() - started
    print(f"{step}: {took:.0f} s", flush=True)
    return took


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description="build compose mode's images").parse_args(argv)
    return exit_code_of(build_all)


def build_all() -> None:
    os.environ["DOCKER_HOST"] = engine.address(default_state_dir())  # for every docker call
    started = time.monotonic()
    base = base_image()
    print(f"base image: {base} ({time.monotonic() - started:.0f} s)", flush=True)
    for what, step in (("wheelhouse", wheelhouse), ("static toxiproxy", toxiproxy_binaries)):
        started = time.monotonic()
        step()
        print(f"{what}: {time.monotonic() - started:.0f} s", flush=True)
    build("node image", ["docker", "build", "--build-arg", f"BASE_IMAGE={base}",
                         "--label", f"{SOURCE_LABEL}={source_digest()}",
                         "-t", NODE_IMAGE, "-f", "Dockerfile", "."])  # fmt: skip
    started = time.monotonic()
    varnish_base = varnish_base_image(base)
    print(f"varnish base image: {varnish_base} ({time.monotonic() - started:.0f} s)", flush=True)
    build("varnish node image", ["docker", "build", "--build-arg", f"BASE_IMAGE={varnish_base}",
                                 "--label", f"{SOURCE_LABEL}={source_digest()}",
                                 "-t", VARNISH_NODE_IMAGE, "-f", "Dockerfile", "."])  # fmt: skip
    build("toxiproxy image", ["docker", "build", "-t", TOXIPROXY_IMAGE,
                              "-f", "Dockerfile.toxiproxy", "."])  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
