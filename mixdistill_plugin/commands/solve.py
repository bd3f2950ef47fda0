"""``mixdistill solve``: answer questions with a distilled student, CoT and PoT sampled in rounds
until they agree."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mixdistill_plugin.commands.options import LazyHelp, student_options, timeout_option, vote_option

if TYPE_CHECKING:
    from mixdistill_plugin.solve import Asked


def _seed_help() -> str:
    from mixdistill_plugin.students import seed_help

    return seed_help()


@click.command()
@click.argument("questions", default="-", type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@student_options(max_gen_toks=256)
@click.option("--max-rounds", default=4, show_default=True, type=click.IntRange(min=1),
              help="Rounds at most; each samples one CoT and one PoT path per open question.")
@vote_option("The mixed vote for questions still open after --max-rounds")
@click.option("--temperature", default=0.7, show_default=True, type=click.FloatRange(min=0))
@click.option("--seed", cls=LazyHelp, help_from=_seed_help, default=0, show_default=True, type=int)
@timeout_option
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(min=1),
              help="openai: requests in flight at most.")
@click.option("--question-field", default="question", show_default=True, help="JSONL input: the question field.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per question instead of text.")
def solve(questions: Path, question_field: str, as_json: bool, **options) -> None:
    """Answer QUESTIONS (a file, or - for stdin) with a student trained by Mixed Distillation.

    QUESTIONS: one question per line, or JSONL ({"question": ..., optional "id" and a gold
    "answer"}; .jsonl files, or stdin lines that start with "{").

    Each round samples one CoT and one PoT path for every open question (one batch), reads the
    CoT answers, runs the programs in the sandboxed executor, and closes each question whose CoT
    majority and PoT majority now agree. After --max-rounds the mixed vote (--vote) decides.
    Prints each answer and the paths it used; on stderr, the mean number of paths and, when the
    input has gold answers, the accuracy.

    \b
    mixdistill solve questions.txt --model hf --apply_chat_template \\
        --model_args pretrained=models/SmolLM2-135M-Instruct,peft=runs/mixed/student
    echo "Tom has 3 bags of 4 apples. How many apples?" | mixdistill solve - --model openai \\
        --model_args model=student,base_url=http://localhost:8000/v1
    """
    from mixdistill_plugin.harness.models import lm_eval_student
    from mixdistill_plugin.solve import SolveSettings, run

    asked = read_questions(questions, question_field)
    if not asked:
        raise click.UsageError(f"{click.format_filename(questions)}: no questions")
    settings = SolveSettings(**options)

    def show(number: int, closed: list[int]) -> None:
        click.echo(f"round {number}: {len(closed)} settled by CoT-PoT agreement", err=True)

    solutions = run(settings, asked, lm_eval_student, on_round=show, notice=lambda message: click.echo(message, err=True))
    for item, solution in zip(asked, solutions):
        click.echo(json.dumps(as_record(item, solution)) if as_json else as_text(item, solution))
    click.echo(summary(asked, solutions, settings.max_rounds), err=True)


def read_questions(path: Path, question_field: str = "question") -> list[Asked]:
    """Questions from a text file (one a line), a JSONL file, or stdin (either); an ``InputError`` naming
    the place of a line that is not a question, or a file with none."""
    from mixdistill_plugin.answers import parse_number
    from mixdistill_plugin.jsonl import InputError, file_text, parse_line
    from mixdistill_plugin.solve import Asked

    hint = f'Give one question per line, or JSON lines {{"{question_field}": ...}} (--question-field names the field)'
    if str(path) == "-":
        path, text, jsonl = "stdin", sys.stdin.read(), None
    else:
        text, jsonl = file_text(path, hint), path.suffix == ".jsonl"
    asked = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line:
            continue
        if jsonl or (jsonl is None and line.startswith("{")):
            row = parse_line(path, number, line, hint)
            if not isinstance(row, dict) or not isinstance(row.get(question_field), str) or not row[question_field].strip():
                raise InputError(path, number, None, f"expected an object with a {question_field!r} text", hint)
            gold = row.get("answer")
            gold = parse_number(gold) if isinstance(gold, str) else float(gold) if isinstance(gold, (int, float)) else None
            asked.append(Asked(str(row.get("id", f"q{len(asked) + 1}")), row[question_field].strip(), gold))
        else:
            asked.append(Asked(f"q{len(asked) + 1}", line))
    if not asked:
        raise InputError(path, None, None, "no questions", hint)
    return asked


def as_record(item: Asked, solution) -> dict:
    record = {"id": item.id, "question": item.question, "answer": solution.answer, "rounds": solution.rounds,
              "paths_used": len(solution.paths), "stopped": "agreement" if solution.agreed else "max_rounds",
              "paths": [{"kind": p.kind, "round": p.round, "text": p.text, "answer": p.answer, "outcome": p.outcome,
                         "detail": p.detail} for p in solution.paths]}
    if item.gold is not None:
        from mixdistill_plugin.answers import answers_equal

        record |= {"gold": item.gold, "correct": answers_equal(solution.answer, item.gold)}
    return record


def as_text(item: Asked, solution) -> str:
    from mixdistill_plugin.answers import format_answer

    how = (f"CoT and PoT agree in round {solution.rounds}" if solution.agreed
           else f"no agreement in {solution.rounds} rounds: mixed vote")
    lines = [f"{item.id}: {format_answer(solution.answer) if solution.answer is not None else 'no answer'}  "
             f"({how}; {len(solution.paths)} paths)"]
    for p in solution.paths:
        text = " ".join(p.text.split())
        text = text if len(text) <= 100 else text[:97] + "..."
        result = format_answer(p.answer) if p.answer is not None else p.outcome + (f" ({p.detail})" if p.detail else "")
        lines.append(f"  round {p.round} {p.kind}: {text} -> {result}")
    return "\n".join(lines)


def summary(asked: list[Asked], solutions, max_rounds: int) -> str:
    from mixdistill_plugin.answers import answers_equal

    n = len(solutions)
    paths = sum(len(s.paths) for s in solutions)
    first = sum(s.agreed and s.rounds == 1 for s in solutions)
    text = (f"{n} question{'s' * (n != 1)}: {paths / n:.2f} paths each on average (at most {2 * max_rounds}); "
            f"{sum(s.agreed for s in solutions)} settled by agreement, {first} in round 1")
    scored = [(a, s) for a, s in zip(asked, solutions) if a.gold is not None]
    if scored:
        right = sum(answers_equal(s.answer, a.gold) for a, s in scored)
        text += f"; accuracy {100 * right / len(scored):.1f}% ({right}/{len(scored)})"
    return text
