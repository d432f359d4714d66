"""Run settings as frozen dataclasses that round-trip through JSON.

Subclass :class:`JsonConfig` with ``@dataclass(frozen=True)``; every run writes
its config beside its results with :meth:`JsonConfig.save`.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, TypeVar

from lnfusion.exceptions import ConfigError
from lnfusion.io import atomic_write_text

__all__ = ["JsonConfig"]

T = TypeVar("T", bound="JsonConfig")


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


class JsonConfig:
    """Mixin for frozen dataclasses: ``to_dict``, ``to_json``, ``from_dict``, ``from_json``.

    ``from_dict`` rejects unknown keys with a :class:`~lnfusion.exceptions.ConfigError`
    that names them and lists the accepted ones.
    """

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as plain JSON-compatible Python objects."""
        return _jsonable(self)

    def to_json(self) -> str:
        """Return the settings as an indented JSON string."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the settings to ``path`` as JSON (atomically)."""
        return atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Build the config from a mapping; unknown keys raise ``ConfigError``."""
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown setting(s) {unknown}; accepted: {sorted(names)}")
        try:
            return cls(**data)  # type: ignore[call-arg]
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{cls.__name__}: {exc}") from exc

    @classmethod
    def from_json(cls: type[T], path: str | os.PathLike) -> T:
        """Read the config from a JSON file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from exc
        return cls.from_dict(data)
