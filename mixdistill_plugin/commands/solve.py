"""``mixdistill solve``: answer questions with a distilled student, CoT and PoT sampled in rounds
until they agree."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from mixdistill_plugin.commands.options import student_options, timeout_option, vote_option


@dataclass(frozen=True)
class Asked:
    id: str
    question: str
    gold: float | None = None


@click.command()
@click.argument("questions", default="-", type=click.Path(allow_dash=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_name", default="hf", show_default=True,
              help="openai (any OpenAI-compatible chat server: vLLM serve, SGLang, TGI, llama.cpp, Ollama) or an "
                   "lm-eval model backend (hf, vllm, ...).")
@click.option("--model_args", "--model-args", "model_args", required=True,
              help="openai: model=NAME,base_url=http://HOST:PORT/v1 (key: $OPENAI_API_KEY); lm-eval backends: as for "
                   "lm_eval, e.g. pretrained=models/base,peft=runs/mixed/student.")
@click.option("--max-rounds", default=4, show_default=True, type=click.IntRange(min=1),
              help="Rounds at most; each samples one CoT and one PoT path per open question.")
@vote_option("The mixed vote for questions still open after --max-rounds")
@click.option("--temperature", default=0.7, show_default=True, type=click.FloatRange(min=0))
@click.option("--max-gen-toks", default=256, show_default=True, type=click.IntRange(min=1),
              help="Tokens per path at most.")
@click.option("--seed", default=0, show_default=True, type=int,
              help="Sampling seed: openai and vllm send seed+round-1 with every request; other lm-eval backends "
                   "seed torch with seed+round before each round.")
@timeout_option
@student_options
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(min=1),
              help="openai: requests in flight at most.")
@click.option("--question-field", default="question", show_default=True, help="JSONL input: the question field.")
@click.option("--json", "as_json", is_flag=True, help="One JSON line per question instead of text.")
def solve(questions: Path, model_name: str, model_args: str, max_rounds: int, vote, temperature: float,
          max_gen_toks: int, seed: int, timeout: float, batch_size: int, device: str | None, chat: bool,
          concurrency: int, question_field: str, as_json: bool) -> None:
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
    asked = read_questions(questions, question_field)
    if model_name == "openai":
        sample = openai_student(asked, model_args, temperature, max_gen_toks, seed, concurrency)
    else:
        sample = lm_eval_student(asked, model_name, model_args, temperature, max_gen_toks, seed, batch_size,
                                 device, chat)
    solutions = run(asked, sample, max_rounds, vote, timeout)
    for item, solution in zip(asked, solutions):
        click.echo(json.dumps(as_record(item, solution)) if as_json else as_text(item, solution))
    click.echo(summary(asked, solutions, max_rounds), err=True)


def run(asked: list[Asked], sample, max_rounds: int, method, timeout: float):
    from mixdistill_plugin.executor import Executor
    from mixdistill_plugin.scoring import read_answers
    from mixdistill_plugin.solve import solve_in_rounds

    def show(number: int, closed: list[int]) -> None:
        click.echo(f"round {number}: {len(closed)} settled by CoT-PoT agreement", err=True)

    with Executor(timeout=timeout).start() as executor:
        return solve_in_rounds(len(asked), sample, lambda kind, texts: read_answers(kind, list(texts), executor),
                               max_rounds, method, on_round=show)


def read_questions(path: Path, question_field: str = "question") -> list[Asked]:
    """Questions from a text file (one a line), a JSONL file, or stdin (either); an ``InputError`` naming
    the place of a line that is not a question, or a file with none."""
    from mixdistill_plugin.answers import parse_number
    from mixdistill_plugin.jsonl import InputError, file_text, parse_line

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


def lm_eval_student(asked: list[Asked], model_name: str, model_args: str, temperature: float, max_gen_toks: int,
                    seed: int, batch_size: int, device: str | None, chat: bool):
    """A student behind one of lm-eval's model classes (as ``mixdistill eval`` and ``socratic`` run it)."""
    import random

    import numpy as np
    import torch

    from mixdistill_plugin.harness.models import complete, load_student, student_prompt
    from mixdistill_plugin.prompts import get_kind

    lm = load_student(model_name, model_args, batch_size, device)

    def sample(requests, number: int) -> list[str]:
        random.seed(seed + number)
        np.random.seed(seed + number)
        torch.manual_seed(seed + number)
        prompts, gens = [], []
        for i, kind in requests:
            gen = {"until": list(get_kind(kind).stop), "do_sample": temperature > 0, "max_gen_toks": max_gen_toks}
            if temperature > 0:
                gen["temperature"] = temperature
            if model_name == "vllm":
                gen["seed"] = seed + number - 1
            prompts.append(student_prompt(lm, kind, asked[i].question, chat))
            gens.append(gen)
        return complete(lm, prompts, gens)

    return sample


def openai_student(asked: list[Asked], model_args: str, temperature: float, max_gen_toks: int, seed: int,
                   concurrency: int):
    """A student behind an OpenAI-compatible chat server, through the teacher's client (retries, faults)."""
    import asyncio

    from mixdistill_plugin.records import Question
    from mixdistill_plugin.errors import UserError
    from mixdistill_plugin.teachers import Request, Sampling
    from mixdistill_plugin.teachers.openai_chat import OpenAITeacher

    args = dict(part.split("=", 1) for part in model_args.split(",") if "=" in part)
    if not args.get("model"):
        raise UserError("--model openai needs --model_args model=NAME[,base_url=http://HOST:PORT/v1]")
    client = OpenAITeacher(args["model"], args.get("base_url"), concurrency=concurrency,
                           notice=lambda message: click.echo(message, err=True))
    client.role = "student"  # its messages (a server that is down, a refused key) name the student's server
    # shots=0: the student's own zero-shot prompt as the user turn, the form it was trained on
    sampling = Sampling(temperature=temperature, max_tokens=max_gen_toks, seed=seed, shots=0)
    # the client sends questions as records; the gold answer is never sent
    records = [Question(id=a.id, question=a.question, answer=0.0, source="solve") for a in asked]

    def sample(requests, number: int) -> list[str]:
        wanted = [Request(records[i], kind, (number - 1,)) for i, kind in requests]  # seed + round - 1

        async def collect() -> dict:
            got = {}
            async for reply in client.replies(wanted, sampling):
                if reply.error:
                    click.echo(f"{reply.request.question.id} {reply.request.kind} round {number}: {reply.error}", err=True)
                got[(reply.request.question.id, reply.request.kind)] = reply.texts[0] if reply.texts else ""
            return got

        got = asyncio.run(collect())
        return [got.get((records[i].id, kind), "") for i, kind in requests]

    return sample


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
