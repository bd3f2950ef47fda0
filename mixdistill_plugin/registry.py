"""A registry of named entries (teacher backends, judges) that the built-ins and installed packages fill alike.

Each source is a hook ``register_<things>(register)`` that calls ``register(entry)`` for each of its
entries: the built-in hook named by ``builtin``, then every hook an installed package declares in the
entry-point group ``group``. The hooks run on first use, so naming an option costs no import.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable, Generic, Protocol, TypeVar

from mixdistill_plugin.errors import UserError


class Entry(Protocol):
    name: str
    about: str


E = TypeVar("E", bound=Entry)


class Registry(Generic[E]):
    """Entries of one kind (``what``: "teacher"), chosen on the command line with ``option``."""

    def __init__(self, what: str, option: str, group: str, builtin: str) -> None:
        self.what, self.option, self.group, self.builtin = what, option, group, builtin
        self._entries: dict[str, E] = {}
        self._loaded = False

    def register(self, entry: E) -> None:
        """Add ``entry``; a name already taken is refused."""
        if entry.name in self._entries:
            raise ValueError(f"{self.what} {entry.name!r} is already registered")
        self._entries[entry.name] = entry

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        from importlib.metadata import entry_points

        module, _, name = self.builtin.partition(":")
        hooks: list[Callable] = [getattr(import_module(module), name)]
        hooks += [point.load() for point in entry_points(group=self.group)]
        for hook in hooks:
            hook(self.register)

    def names(self) -> list[str]:
        self._load()
        return list(self._entries)

    def get(self, name: str) -> E:
        self._load()
        if name not in self._entries:
            raise UserError(f"{self.option}: unknown {self.what} {name!r}; "
                            f"the registered ones: {', '.join(self._entries)}")
        return self._entries[name]

    def help(self) -> str:
        """One line per entry for ``--help``: ``name: about``."""
        self._load()
        return "; ".join(f"{entry.name}: {entry.about}" for entry in self._entries.values()) + "."
