"""A frozen dataclass whose hash is computed once: requests and plans are hashed millions of times in a replay."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def cached_hash(cls: T) -> T:
    """Class decorator, above ``@dataclass(frozen=True)``: the hash of the fields, computed on first use and kept.

    The generated ``__hash__`` builds a tuple of every field on each call. The cached
    value is never pickled: another process may hash strings differently. Raises nothing.
    """

    def __hash__(self: Any) -> int:
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f) for f in self.__dataclass_fields__))
            self.__dict__["_hash"] = cached  # frozen: set through __dict__, as dataclasses' own __init__ does
        return cached

    def __getstate__(self: Any) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    # setattr: mypy refuses assigning to a method of a class it knows only as ``type``.
    setattr(cls, "__hash__", __hash__)  # noqa: B010
    setattr(cls, "__getstate__", __getstate__)  # noqa: B010
    return cls
