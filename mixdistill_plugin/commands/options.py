"""Command-line options that several commands share, declared once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable

import click

from mixdistill_plugin.answers import DEFAULT_TOLERANCE
from mixdistill_plugin.errors import UserError
from mixdistill_plugin.registry import Registry
from mixdistill_plugin.voting import DEFAULT_VOTE, MIXED_RULES, VoteMethod, parse_vote

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
    click.option("--base-url", envvar="OPENAI_BASE_URL", multiple=True,
                 help="OpenAI-compatible server, e.g. http://localhost:8000/v1; repeat it for replicas of one model "
                      "(each request goes to the one with the fewest in flight; one that stops answering is left "
                      "out a while)."),
    click.option("--concurrency", default=32, show_default=True, type=click.IntRange(min=1),
                 help="openai: requests in flight, over all replicas."),
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


class LazyHelp(click.Option):
    """An option whose help is written by ``help_from`` (from a registry) when ``--help`` is shown, not at import."""

    def __init__(self, *args, help_from: Callable[[], str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.help_from = help_from

    def get_help_record(self, ctx: click.Context):
        self.help = self.help_from()
        return super().get_help_record(ctx)


def dataset_names(kind: str | None = None) -> str:
    """The datasets of the task registry (those whose questions ``kind`` applies to), for a help text."""
    from mixdistill_plugin.tasks import get_task, task_names

    return ", ".join(name for name in task_names() if kind is None or kind in get_task(name).kinds)


def vote_option(purpose: str) -> Callable:
    """``--vote METHOD``: the mixed vote (:mod:`mixdistill_plugin.voting`), parsed into a
    :class:`~mixdistill_plugin.voting.VoteMethod`; ``purpose`` starts its help."""
    def parse(ctx: click.Context, param: click.Parameter, value: str) -> VoteMethod:
        try:
            return parse_vote(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    def methods() -> str:
        return f"{purpose}: " + "; ".join(f"{name} ({rule.about})" for name, rule in MIXED_RULES.items()) + "."

    return click.option("--vote", cls=LazyHelp, help_from=methods, default=DEFAULT_VOTE, show_default=True,
                        metavar="METHOD", callback=parse)


def _students_help() -> str:
    from mixdistill_plugin.students import backends_help

    return backends_help()


STUDENT_OPTIONS = (
    click.option("--model", cls=LazyHelp, help_from=_students_help, default="hf", show_default=True),
    click.option("--model_args", "--model-args", "model_args", required=True,
                 help="openai: model=NAME,base_url=http://HOST:PORT/v1 (key: $OPENAI_API_KEY); lm-eval backends: as "
                      "for lm_eval, e.g. pretrained=models/base,peft=runs/mixed/student."),
    click.option("--batch_size", "--batch-size", "batch_size", default=16, show_default=True,
                 type=click.IntRange(min=1), help="lm-eval backends: the batch size."),
    click.option("--device", help="lm-eval backends: cuda, cuda:0, cpu [default: cuda when available, else cpu]."),
    click.option("--apply_chat_template", "--apply-chat-template", "chat", is_flag=True,
                 help="lm-eval backends: wrap each prompt in the model's chat template (as lm_eval "
                      "--apply_chat_template; a chat server always does)."),
)


def student_options(max_gen_toks: int) -> Callable[[Callable], Callable]:
    """``--model``, ``--model_args``, ``--max-gen-toks`` (``max_gen_toks`` by default), ``--batch_size``,
    ``--device``, ``--apply_chat_template``: the student (:class:`~mixdistill_plugin.students.StudentSettings`),
    spelled as ``lm_eval`` spells them (``socratic``, ``solve``)."""
    tokens = click.option("--max-gen-toks", default=max_gen_toks, show_default=True, type=click.IntRange(min=1),
                          help="Tokens the student writes per completion at most (solve: per path; socratic: per "
                               "sub-question and per answer).")

    def with_student(command: Callable) -> Callable:
        for option in reversed((*STUDENT_OPTIONS[:2], tokens, *STUDENT_OPTIONS[2:])):
            command = option(command)
        return command

    return with_student


class _Registered(click.ParamType):
    """A name registered in ``registry()`` (imported when the option is used, not at start-up)."""

    def __init__(self, name: str, registry: Callable[[], Registry]) -> None:
        self.name, self.registry = name, registry

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        registry = self.registry()
        try:
            return registry.get(str(value)).name
        except UserError as exc:
            self.fail(str(exc).removeprefix(f"{registry.option}: "), param, ctx)


def _teachers() -> Registry:
    from mixdistill_plugin.teachers.backends import TEACHERS

    return TEACHERS


def _judges() -> Registry:
    from mixdistill_plugin.judges import JUDGES

    return JUDGES


teacher_option = click.option("--teacher", cls=LazyHelp, help_from=lambda: _teachers().help(),
                              type=_Registered("teacher", _teachers), default="openai", show_default=True)
judge_option = click.option("--judge", cls=LazyHelp, help_from=lambda: _judges().help(),
                            type=_Registered("judge", _judges), default="openai", show_default=True)


@functools.lru_cache(maxsize=None)
def _sample_options(kinds: tuple[tuple[str, int, str], ...]) -> dict[str, click.Option]:
    """``--<kind>-samples N`` for each (name, default, title) of ``kinds``, by kind, made once per set of kinds."""
    return {name: click.Option([f"--{name}-samples"], default=default, show_default=True, type=click.IntRange(min=0),
                               help=f"{title} completions per question.") for name, default, title in kinds}


def sample_options() -> dict[str, click.Option]:
    """``--<kind>-samples N``, by kind, for every kind a teacher writes (:func:`prompts.teacher_kinds`: CoT, PoT,
    Socratic, and any kind registered since), as the prompt registry holds them now."""
    from mixdistill_plugin.prompts import get_kind, teacher_kinds

    return _sample_options(tuple((name, get_kind(name).teacher_samples, get_kind(name).title)
                                 for name in teacher_kinds()))


class SampledCommand(click.Command):
    """A command with :func:`sample_options`, placed after the option named ``samples_after`` and read
    from the prompt registry each time the command parses its options or shows its help (so a kind
    registered after the command was imported has its option); its callback gets them as one
    ``samples`` dict of the kinds asked (N > 0)."""

    def __init__(self, *args, samples_after: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.samples_after = samples_after

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params = super().get_params(ctx)
        at = next(i for i, param in enumerate(params) if param.name == self.samples_after) + 1
        return [*params[:at], *sample_options().values(), *params[at:]]

    def invoke(self, ctx: click.Context) -> object:
        asked = {kind: ctx.params.pop(option.name) for kind, option in sample_options().items()}
        ctx.params["samples"] = {kind: n for kind, n in asked.items() if n > 0}
        return super().invoke(ctx)
