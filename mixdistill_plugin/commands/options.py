"""Command-line options that several commands share, declared once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

import click

from mixdistill_plugin.answers import DEFAULT_TOLERANCE

timeout_option = click.option("--timeout", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
                              help="Seconds each model-written program may run.")
tolerance_option = click.option("--tolerance", default=DEFAULT_TOLERANCE, show_default=True,
                                type=click.FloatRange(min=0),
                                help="Relative and absolute tolerance when comparing an answer with the gold answer.")
data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                               help="A folder with svamp/SVAMP.json, gsm8k/{train,test}.jsonl ... read before the "
                                    "shipped copies [default: $MIXDISTILL_DATA_DIR].")

FIELD_OPTIONS = (
    click.option("--question-field", default="question", show_default=True,
                 help="For a file of your own: the question field."),
    click.option("--answer-field", default="answer", show_default=True,
                 help="For a file of your own: the gold answer field."),
    click.option("--id-field", help="For a file of your own: the id field "
                                    "[default: 'id' where rows have it, else a hash of the question]."),
    click.option("--choices-field", default="choices", show_default=True,
                 help="For a file of your own: the field with a row's answer choices (a list of strings); a row "
                      "with choices has a label answer, one of them."),
    click.option("--choices", callback=lambda ctx, param, value: tuple(c.strip() for c in value.split(",") if c.strip())
                 if value else (), metavar="A,B,...",
                 help="For a file of your own: the label set of rows without a choices field (e.g. "
                      "entailment,neutral,contradiction)."),
    click.option("--skip-bad-rows", is_flag=True,
                 help="For a file of your own: report and skip rows with no question or an answer that does not read."),
)


def field_options(command: Callable) -> Callable:
    """``--question-field``, ``--answer-field``, ``--id-field``, ``--choices-field``, ``--choices``,
    ``--skip-bad-rows``: how to read a user's file, passed to ``command`` as one ``fields``
    (:class:`~mixdistill_plugin.data.FileFields`)."""

    @functools.wraps(command)
    def with_fields(*args, **kwargs):
        from mixdistill_plugin.data import FileFields

        names = ("question_field", "answer_field", "id_field", "choices_field", "choices", "skip_bad_rows")
        return command(*args, fields=FileFields(**{name: kwargs.pop(name) for name in names}), **kwargs)

    for option in reversed(FIELD_OPTIONS):
        with_fields = option(with_fields)
    return with_fields


SERVER_OPTIONS = (
    click.option("--base-url", envvar="OPENAI_BASE_URL",
                 help="OpenAI-compatible server, e.g. http://localhost:8000/v1."),
    click.option("--concurrency", default=32, show_default=True, type=click.IntRange(min=1),
                 help="openai: requests in flight."),
    click.option("--retries", default=6, show_default=True, type=click.IntRange(min=0),
                 help="openai: retries of a request within the run (429, 5xx, timeouts, dropped connections, "
                      "malformed or empty replies), waiting at most 0.5s doubling to 10s, or as Retry-After says."),
    click.option("--request-timeout", default=120.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
                 help="openai: seconds per request."),
    click.option("--give-up-after", default=120.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
                 help="openai: end the run when the server has answered nothing for this many seconds "
                      "(connections refused, dropped or timing out); a restarting server is waited for until then."),
)


def server_options(command: Callable) -> Callable:
    """``--base-url``, ``--concurrency``, ``--retries``, ``--request-timeout``, ``--give-up-after``:
    how to use an OpenAI-compatible server (``generate``'s teacher, ``grade``'s judge)."""
    for option in reversed(SERVER_OPTIONS):
        command = option(command)
    return command
