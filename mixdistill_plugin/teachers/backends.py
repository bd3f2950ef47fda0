"""The teacher registry: the backends ``--teacher`` names.

A backend is a :class:`Backend` entry: its name, what it needs, and a function that makes it from
the command line's :class:`TeacherOptions` (importing its heavy parts only then). The built-in
backends (:mod:`.builtin`) register exactly as another package's do: a function
``register_teachers(register)`` that calls ``register(Backend(...))``, found for another package
through the ``mixdistill.teachers`` entry-point group::

    [project.entry-points."mixdistill.teachers"]
    my_teacher = "my_package.teacher:register_teachers"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mixdistill_plugin.errors import UserError
from mixdistill_plugin.registry import Registry
from mixdistill_plugin.teachers import Teacher

ENTRY_POINTS = "mixdistill.teachers"


@dataclass(frozen=True)
class TeacherOptions:
    """What the command line says to every backend; each uses what applies to it."""

    model: str | None = None
    base_url: tuple[str, ...] = ()
    concurrency: int = 32
    retries: int = 6
    request_timeout: float = 120.0
    give_up_after: float = 120.0
    batch_size: int = 8
    dataset: str | None = None
    recordings: tuple[Path, ...] = ()
    tokenizer: str | None = None  # counts tokens where the server sends no usage (teachers.tokens)


@dataclass(frozen=True)
class Backend:
    """A teacher backend: ``make(options)`` builds it. ``needs_model``: ``--model`` is required;
    ``chat``: its prompts are chat messages (else plain text); ``uses_gold``: it writes from the gold
    answers (so it cannot label questions without them); ``about``: one line for ``--help``.
    A teacher with a limited number of completions per question says so with a method
    ``most_samples(kind) -> int``; ``generate`` asks for no more (0: the kind is refused)."""

    name: str
    make: Callable[[TeacherOptions], Teacher]
    about: str
    needs_model: bool = True
    chat: bool = False
    uses_gold: bool = False


TEACHERS: Registry[Backend] = Registry("teacher", "--teacher", ENTRY_POINTS,
                                      "mixdistill_plugin.teachers.builtin:register_teachers")


def make_teacher(name: str, options: TeacherOptions = TeacherOptions()) -> Teacher:
    """The backend called ``name``, made from ``options``; a :class:`UserError` (bad input, exit 2) when it
    needs ``--model`` and none is given."""
    backend = TEACHERS.get(name)
    if backend.needs_model and not options.model:
        raise UserError(f"--teacher {name} needs --model (the model's name on the server, or its path)")
    return backend.make(options)
