"""What a resumable run (``generate``, ``grade``) shows while it runs, and how a run cut short ends."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mixdistill_plugin.ledger import Outcome


class Bar:
    """A progress bar on stderr, opened when the run says how much is left; the notices before it and
    above it, and the notice of a torn last line dropped from the ``ledger`` (then ``again``: what
    happens to its entry). ``label``: the bar's description, ``{}`` standing for the model's name."""

    def __init__(self, enabled: bool, unit: str, ledger: Path, again: str, label: str = "{}") -> None:
        self.enabled, self.unit, self.ledger, self.again, self.label = enabled, unit, ledger, again, label
        self.bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()

    def notice(self, message: str) -> None:
        """``message`` on stderr, above the bar once it is open."""
        if self.bar is None:
            click.echo(message, err=True)
        else:
            from tqdm import tqdm

            tqdm.write(message, file=sys.stderr)

    def start(self, name: str, total: int, torn: bool) -> None:
        """The run of model ``name`` asks for ``total`` entries; ``torn``: it dropped a torn last line first."""
        from tqdm import tqdm

        if torn:
            click.echo(f"{self.ledger}: dropped a torn last line (an interrupted write); {self.again}", err=True)
        self.bar = tqdm(total=total, unit=self.unit, disable=not self.enabled, desc=self.label.format(name))

    def update(self, entries: int, postfix: dict | None = None) -> None:
        """``entries`` more recorded; ``postfix``: figures shown after the bar."""
        if postfix is not None:
            self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(entries)


def end(outcome: Outcome, kept: str, where: Path) -> None:
    """Exit as a run cut short does, saying that ``kept`` (what was received) is kept in ``where``:
    130 after an interrupt; 1, with the server's message, when the server gave up."""
    again = f"so far is kept in {where}; run the same command again to resume."
    if outcome.interrupted:
        click.echo(f"interrupted: {kept} {again}", err=True)
        click.get_current_context().exit(130)
    if outcome.failure:
        raise click.ClickException(f"{outcome.failure}\n{kept[0].upper()}{kept[1:]} {again}")
