"""Reading YAML into frozen pydantic models, with one-line errors that name file and field.

Every error reads `<file>: <field path>: <problem>; got <value>`, plus the allowed values and
a "did you mean" where there is a close match.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import BadInput

M = TypeVar("M", bound=BaseModel)


class Frozen(BaseModel):
    """The base of every model read from a user's file: frozen, no unknown keys, no inf/nan."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def resolve_named(name_or_file: str, directory: Path, kind: str) -> Path:
    """A shipped file's name (`baseline` for `<directory>/baseline.yaml`) or a YAML file's path."""
    candidate = Path(name_or_file)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise BadInput(f"{name_or_file}: no such {kind} file")
        return candidate
    path = directory / f"{name_or_file}.yaml"
    if path.is_file():
        return path
    names = sorted(p.stem for p in directory.glob("*.yaml"))
    close = difflib.get_close_matches(name_or_file, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise BadInput(f"{name_or_file}: no such {kind}; shipped: {', '.join(names)}{hint}")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Overrides win; nested mappings merge key by key; lists are replaced whole."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


MAX_YAML_BYTES = 1024 * 1024  # no scenario, suite or config comes near this
MAX_YAML_DEPTH = 32  # the deepest shipped file nests 5 levels


def _refuse_hostile(path: Path, text: str) -> None:
    """Deep nesting (a RecursionError later) and aliases (a "billion laughs" expansion) are
    refused from the event stream, before any object is built."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            where = f"line {event.start_mark.line + 1}" if event.start_mark else "?"
            raise BadInput(
                f"{path}: {where}: YAML aliases (*name) are not supported; write the values out"
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise BadInput(f"{path}: nested deeper than {MAX_YAML_DEPTH} levels; got more")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory; give a YAML file") from None
    except OSError as error:
        raise BadInput(f"{path}: cannot read: {error.strerror}") from None
    if len(raw) > MAX_YAML_BYTES:
        raise BadInput(f"{path}: too large for a settings file ({len(raw)} bytes); at most 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadInput(f"{path}: not UTF-8 text (a binary file?); byte {error.start}") from None
    try:
        _refuse_hostile(path, text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = " ".join(str(getattr(error, "problem", None) or error).split())
        raise BadInput(f"{path}: {where}: not valid YAML: {problem}") from None
    except (ValueError, RecursionError) as error:  # e.g. an integer of 10,000 digits
        raise BadInput(f"{path}: a value YAML cannot hold: {str(error)[:120]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(
            f"{path}: (top level): must be a mapping of settings; got {type(data).__name__}"
        )
    return data


def validate(source: str, model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise BadInput(describe(source, model, error)) from None


def load_model(path: Path, model: type[M], defaults: dict[str, Any] | None = None) -> M:
    data = read_yaml_mapping(path)
    return validate(str(path), model, deep_merge(defaults or {}, data))


def field_path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe(source: str, model: type[BaseModel], error: ValidationError) -> str:
    """One validation error as one line; a misspelt key is reported before what it left out."""
    errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    raw_loc = tuple(first["loc"])
    loc, _ = _walk(model, raw_loc)
    problem = first["msg"]
    got = first.get("input")
    if first["type"] == "extra_forbidden":
        allowed = sorted(_fields_at(model, raw_loc[:-1]))
        unknown = str(loc[-1])
        line = f"{source}: {field_path(loc)}: unknown setting; allowed: {', '.join(allowed)}"
        close = difflib.get_close_matches(unknown, allowed, n=1)
        return line + (f" (did you mean {close[0]!r}?)" if close else "")
    if first["type"] == "missing":
        return f"{source}: {field_path(loc)}: required setting is missing"
    if "expected" in first.get("ctx", {}):
        expected = str(first["ctx"]["expected"])
        problem = f"must be one of {expected}"
        close = difflib.get_close_matches(str(got), re.findall(r"'([^']*)'", expected), n=1)
        if close:
            return (
                f"{source}: {field_path(loc)}: {problem}; got {got!r} (did you mean {close[0]!r}?)"
            )
    if first["type"] == "union_tag_invalid":
        problem = f"unknown kind; allowed: {first['ctx']['expected_tags']}"
        got = first["ctx"]["tag"]
    shown = repr(got) if not isinstance(got, dict) else "a mapping"
    return f"{source}: {field_path(loc)}: {problem}; got {shown}"


def _union_members(annotation: Any) -> list[type[BaseModel]]:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if _is_model(a)]
    return []


def _walk(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[tuple[int | str, ...], Any]:
    """(the path without discriminated-union tags, the type found at its end)."""
    cleaned: list[int | str] = []
    current: Any = model
    for part in loc:
        members = _union_members(current)
        if len(members) > 1 and isinstance(part, str):
            chosen = [m for m in members if repr(part) in repr(m.model_fields.get("kind"))]
            if chosen:
                current = chosen[0]  # a tag such as `latency` in faults.0.latency.latency_ms
                continue
        cleaned.append(part)
        current = _step(current, part)
    return tuple(cleaned), current


def _step(current: Any, part: int | str) -> Any:
    current = _strip_optional(current)
    if _is_model(current):
        field = current.model_fields.get(str(part))
        return field.annotation if field is not None else None
    if typing.get_origin(current) is typing.Annotated:
        return _step(typing.get_args(current)[0], part)
    if typing.get_origin(current) in (list, tuple, dict):
        element = typing.get_args(current)[-1]
        return element
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in args if _is_model(a)]
        return models[0] if models else (args[0] if len(args) == 1 else annotation)
    return annotation


def _fields_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the model reached by walking `loc` down from `model`."""
    _, current = _walk(model, loc)
    members = _union_members(current)
    current = members[0] if len(members) == 1 else _strip_optional(current)
    return list(current.model_fields) if _is_model(current) else []
