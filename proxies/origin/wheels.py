"""Tiny, real, installable wheels, built byte-for-byte deterministically."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import re
import zipfile

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_filename(name: str, version: str) -> str:
    return f"{distribution(name)}-{version}-py3-none-any.whl"


def distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode()


def build_wheel(name: str, version: str, summary: str, payload_bytes: int = 0) -> bytes:
    """A wheel pip installs; `payload_bytes` of seeded noise (stored, not compressed) give it
    the size of a real file, so loss and bandwidth act on as many packets as they would."""
    dist = distribution(name)
    info = f"{dist}-{version}.dist-info"
    members: list[tuple[str, bytes]] = [
        (f"{dist}/__init__.py", f'"""{summary}"""\n__version__ = "{version}"\n'.encode()),
        (
            f"{info}/METADATA",
            (
                f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"
            ).encode(),
        ),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: shieldlab\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
    ]
    if payload_bytes > 0:
        noise = random.Random(f"{name}=={version}").randbytes(payload_bytes)
        members.append((f"{dist}/_payload.bin", noise))
    record_lines = [f"{path},{_record_hash(data)},{len(data)}" for path, data in members]
    record_lines.append(f"{info}/RECORD,,")
    members.append((f"{info}/RECORD", ("\n".join(record_lines) + "\n").encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, data in members:
            member = zipfile.ZipInfo(path, date_time=_FIXED_DATE)
            member.external_attr = 0o644 << 16
            stored = path.endswith("_payload.bin")  # noise does not compress
            member.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            archive.writestr(member, data)
    return buffer.getvalue()
