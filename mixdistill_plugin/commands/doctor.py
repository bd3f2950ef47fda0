"""``mixdistill doctor``: which containment layers programs run under here, and whether that is enough."""

from __future__ import annotations

import sys

import click


@click.command()
def doctor() -> None:
    """Show the program sandbox's layers on this machine and run one program in it.

    Exits 0 when the required layers are there, 1 when they are not (then it says what to enable).
    """
    from mixdistill_plugin.containment import LAYER_HELP, LAYER_STOPS
    from mixdistill_plugin.executor import Executor

    executor = Executor(timeout=2.0, workers=1, allow_weak=True)
    try:
        layers = executor.check()
        outcome = executor.run_one("ans = 6 * 7")
    finally:
        executor.close()
    on = {"fresh process per program": True, "seccomp": layers.seccomp, "landlock": layers.landlock > 0,
          "namespaces": bool(layers.namespaces), "rlimits": layers.rlimits}
    names = {"landlock": f"landlock (ABI {layers.landlock})" if layers.landlock else "landlock",
             "namespaces": f"namespaces ({', '.join(layers.namespaces)})" if layers.namespaces else "namespaces"}
    click.echo("Each program runs in a fresh process forked from a template that never runs model code, under:")
    for name, stops in LAYER_STOPS.items():
        click.echo(f"  {'active ' if on[name] else 'MISSING'}  {names.get(name, name)}: stops {stops}")
        if not on[name]:
            click.echo(f"           {layers.missing.get(name, 'unavailable')}; to enable: {LAYER_HELP.get(name, '-')}")
    click.echo(f"test program: {outcome.status} {outcome.answer if outcome.answer is not None else outcome.detail}")
    if layers.below_minimum():
        click.echo(layers.refusal(), err=True)
        sys.exit(1)
    click.echo("required layers (seccomp): present")
