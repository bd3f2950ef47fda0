"""How right the teacher's own labels are (``generate --no-gold``), by agreement threshold.

    .venv/bin/python bench/labels.py [--dataset svamp cqa esnli]
    .venv/bin/python bench/labels.py --dataset svamp --limit 100 --thresholds 0 0.5 0.75 1 \\
        --teacher-args "--teacher openai --base-url URL --model M --cot-samples 4 --pot-samples 4 --seed 1"

For each dataset, ``mixdistill generate --no-gold --min-agreement 0`` (by default from the shipped
recordings, ``--teacher recorded``) labels every question by the teacher's mixed vote with the gold
answers hidden; the gold answers are read afterwards. For each threshold: the questions labelled, how
many of those labels are right (with the 95% Wilson interval), and the records kept, against what the
gold filter keeps from the same completions (``build_train`` with the completions checked against gold).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from mixdistill_plugin.answers import answers_equal
from mixdistill_plugin.generate import build_train, read_raw
from mixdistill_plugin.stats import wilson
from mixdistill_plugin.tasks import get_task, load_questions

THRESHOLDS = (0.0, 0.5, 0.75, 1.0)


def generate(dataset: str, split: str, out: Path, extra: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "mixdistill_plugin.cli", "generate", "--dataset", dataset,
                             "--split", split, "--out", str(out), "--no-progress", "--no-gold",
                             "--min-agreement", "0", *extra], capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"mixdistill generate failed ({result.returncode}):\n{result.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", default=["svamp", "cqa", "esnli"])
    parser.add_argument("--limit", type=int, help="the first N training questions only")
    parser.add_argument("--thresholds", type=float, nargs="+", default=THRESHOLDS)
    parser.add_argument("--teacher-args", default="--teacher recorded",
                        help="the teacher options of `mixdistill generate`, as one string")
    args = parser.parse_args()
    print("| dataset | min agreement | questions labelled | labels right % [95% CI] | records kept | "
          "of them right | gold filter keeps |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for dataset in args.dataset:
        split = get_task(dataset).train_split
        questions = load_questions(dataset, split, limit=args.limit)[0]
        gold = {q.id: q.answer for q in questions}
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "no-gold"
            generate(dataset, split, out, [*shlex.split(args.teacher_args),
                                           *(["--limit", str(args.limit)] if args.limit else [])])
            labelled = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
            completions = read_raw(out / "raw.jsonl")[0]
        checked = [c.model_copy(update={"correct": answers_equal(c.answer, gold[c.id])})
                   for c in completions]
        filtered = build_train(questions, checked)
        for threshold in args.thresholds:
            records = [r for r in labelled if r["agreement"] >= threshold]
            labels = {r["id"]: r["answer"] for r in records}
            right = sum(answers_equal(answer, gold[qid]) for qid, answer in labels.items())
            low, high = wilson(right, len(labels))
            pct = f"{100 * right / len(labels):.1f} [{100 * low:.1f}, {100 * high:.1f}]" if labels else "-"
            kept_right = sum(answers_equal(r["answer"], gold[r["id"]]) for r in records)
            print(f"| {dataset} | {threshold:g} | {len(labels)} of {len(gold)} | {pct} | {len(records)} | "
                  f"{kept_right} | {len(filtered)} |")


if __name__ == "__main__":
    main()
