"""Engines run the engine-neutral metric queries. Only this package (and the store) imports a database driver."""

from thuocdo.engines.base import Engine, Relations

__all__ = ["Engine", "Relations"]
