"""A read model that admits only the votes cast inside their contest's window
(``domain.projection.admit``): the workers and the rebuild write through it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from domain.catalog import Contest
from domain.projection import Delivered, admit
from projections.worker import Sink


class Model(Sink, Protocol):
    """A worker's sink that a rebuild can also swap in."""

    def swap_in(self) -> tuple[bool, str]: ...


class Windowed:
    """``model`` with the voting windows applied to every batch before it."""

    def __init__(self, model: Model, windows: Mapping[str, Contest]) -> None:
        self._model = model
        self._windows = dict(windows)
        self.name = model.name

    def positions(self) -> dict[int, int]:
        return self._model.positions()

    def stale(self) -> bool:
        return self._model.stale()

    def apply(self, batch: Sequence[Delivered], lag: Mapping[int, int] | None = None) -> int | None:
        return self._model.apply(admit(batch, self._windows), lag)

    def swap_in(self) -> tuple[bool, str]:
        return self._model.swap_in()
