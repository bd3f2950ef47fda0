"""Command-line options that several commands share, declared once."""

from __future__ import annotations

from typing import Callable

import click

FIELD_OPTIONS = (
    click.option("--question-field", default="question", show_default=True,
                 help="For a file of your own: the question field."),
    click.option("--answer-field", default="answer", show_default=True,
                 help="For a file of your own: the gold answer field."),
    click.option("--id-field", help="For a file of your own: the id field "
                                    "[default: 'id' where rows have it, else a hash of the question]."),
    click.option("--skip-bad-rows", is_flag=True,
                 help="For a file of your own: report and skip rows with no question or a non-numeric answer."),
)


def field_options(command: Callable) -> Callable:
    """``--question-field``, ``--answer-field``, ``--id-field``, ``--skip-bad-rows``: how to read a user's file."""
    for option in reversed(FIELD_OPTIONS):
        command = option(command)
    return command
