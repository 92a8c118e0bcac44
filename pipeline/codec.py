"""Codec: a frozen dataclass of :mod:`pipeline.models` <-> plain JSON data, for task messages.

In: an instance of a frozen dataclass (fields of str, int, float, bool, None, ``date``,
``datetime``, tuples, ``X | None``, ``Literal`` and nested dataclasses). Out: JSON-serialisable
data (dicts, lists, strings, numbers) that :func:`decode` turns back into an equal instance of
the class it is told to expect. Dates travel as ISO 8601 text. Nothing is pickled: a task message
carries data only, and a value of the wrong kind raises ``ValueError`` naming the field.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from datetime import date, datetime
from typing import Any, TypeVar, Union, get_args, get_origin

__all__ = ["decode", "encode"]

T = TypeVar("T")

Json = None | bool | int | float | str | list["Json"] | dict[str, "Json"]


def encode(value: object) -> Json:
    """A dataclass (or a value inside one) as JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise ValueError(f"cannot encode a {type(value).__name__} as JSON data")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(cls: type[T], data: object) -> T:
    """The instance of ``cls`` that :func:`encode` gave ``data`` for."""
    value: T = _decode(cls, data, cls.__name__)
    return value


def _decode(tp: Any, data: object, where: str) -> Any:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if data is None and type(None) in options:
            return None
        (inner,) = [t for t in options if t is not type(None)]  # only X | None is used
        return _decode(inner, data, where)
    if origin is typing.Literal:
        if data not in get_args(tp):
            raise ValueError(f"{where}: {data!r} is not one of {get_args(tp)}")
        return data
    if origin is tuple:
        if not isinstance(data, list):
            raise ValueError(f"{where}: expected a list, got {type(data).__name__}")
        (inner, _) = get_args(tp)  # tuple[X, ...]
        return tuple(_decode(inner, v, f"{where}[{i}]") for i, v in enumerate(data))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
        hints = _hints(tp)
        known = {f.name for f in dataclasses.fields(tp)}
        if extra := set(data) - known:
            raise ValueError(f"{where}: unknown fields {sorted(extra)}")
        return tp(**{k: _decode(hints[k], v, f"{where}.{k}") for k, v in data.items()})
    if tp is datetime or tp is date:
        if not isinstance(data, str):
            raise ValueError(f"{where}: expected ISO 8601 text, got {type(data).__name__}")
        return datetime.fromisoformat(data) if tp is datetime else date.fromisoformat(data)
    if tp is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)  # JSON writes 2.0 as 2.0, but a hand-made message may say 2
    if tp in (str, int, float, bool) and type(data) is tp:
        return data
    raise ValueError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {data!r}")
