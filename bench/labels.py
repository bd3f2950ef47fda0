"""How right the teacher's own labels are (``generate --no-gold``), by agreement threshold.

    .venv/bin/python bench/labels.py [--dataset svamp cqa esnli]

For each dataset with a shipped recording, ``mixdistill generate --teacher recorded --no-gold
--min-agreement 0`` labels every question by the teacher's mixed vote with the gold answers hidden;
the gold answers are read afterwards. For each threshold: the questions labelled, how many of those
labels are right (with the 95% Wilson interval), and the records kept, against what the gold filter
keeps from the same completions.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from mixdistill_plugin.answers import answers_equal
from mixdistill_plugin.stats import wilson
from mixdistill_plugin.tasks import get_task, load_questions

THRESHOLDS = (0.0, 0.5, 0.75, 1.0)


def generate(dataset: str, split: str, out: Path, *extra: str) -> list[dict]:
    subprocess.run([sys.executable, "-m", "mixdistill_plugin.cli", "generate", "--dataset", dataset, "--split", split,
                    "--teacher", "recorded", "--out", str(out), "--no-progress", *extra],
                   check=True, capture_output=True)
    return [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", nargs="+", default=["svamp", "cqa", "esnli"])
    args = parser.parse_args()
    print("| dataset | min agreement | questions labelled | labels right % [95% CI] | records kept | "
          "of them right | gold filter keeps |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for dataset in args.dataset:
        split = get_task(dataset).train_split
        gold = {q.id: q.answer for q in load_questions(dataset, split)[0]}
        with tempfile.TemporaryDirectory() as tmp:
            labelled = generate(dataset, split, Path(tmp) / "no-gold", "--no-gold", "--min-agreement", "0")
            filtered = generate(dataset, split, Path(tmp) / "gold")
        for threshold in THRESHOLDS:
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
