"""Write mixdistill's lm-eval task YAMLs from the prompt registry and the recipes.

    python -m mixdistill_plugin.harness.make_tasks           # rewrite the task folder
    python -m mixdistill_plugin.harness.make_tasks --check   # exit 1 if a file differs

Tasks are dataset x variant, named ``<prefix>_<variant>`` (:data:`recipes.TASK_PREFIXES`). A
variant is what a recipe is evaluated by (its ``task`` and the kinds its student answers with),
plus ``greedy``: one greedy path of each kind of :data:`scoring.MIXED`. Each variant's include
``_<variant>_yaml`` holds its metrics and generation settings, once; each task file names its
include, its data and its kinds (``dataset_kwargs``, from which the documents' metrics follow). ``_default_template_yaml`` holds what every task shares.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from mixdistill_plugin.prompts import get_kind
from mixdistill_plugin.recipes import RECIPES, TASK_PREFIXES
from mixdistill_plugin.scoring import MIXED, metrics_of

REPEATS = 10
TEMPERATURE = 0.7
HEADER = "# Written by `python -m mixdistill_plugin.harness.make_tasks` from the registry; edit that, not this file.\n"
DATA = {
    "svamp": ("the SVAMP test split of the literature (200 questions)", {"dataset": "svamp", "split": "test"}),
    "gsm8k": ("the GSM8K test split (1319 questions)", {"dataset": "gsm8k", "split": "test"}),
    "file": ("a file of your own, every row: `mixdistill eval --dataset PATH` or --metadata '{\"file\": \"PATH\"}'", {}),
}
GROUPS = {"svamp": "mixdistill_svamp", "gsm8k": "mixdistill_gsm8k"}  # and "mixdistill", of these


@dataclass(frozen=True)
class Variant:
    """``sampled``: ``repeats`` sampled paths of each kind and their votes; else one greedy path each."""

    name: str
    kinds: tuple[str, ...]
    sampled: bool = True

    @property
    def metrics(self) -> list[str]:
        return metrics_of(self.kinds, votes=self.sampled)

    def describe(self) -> str:
        titles = " and ".join(get_kind(kind).title for kind in self.kinds)
        if not self.sampled:
            return f"one greedy path of each of {titles} per question: single-path accuracy"
        pooled = ", and the mixed vote over all of them (Mixed Distillation)" if "mixed_maj" in self.metrics else ""
        return f"k sampled {titles} paths per question (repeats): first-path accuracy and maj@k{pooled}"


def variants() -> list[Variant]:
    """What each recipe is evaluated by, then ``greedy``."""
    return [*(Variant(r.task, r.evaluates) for r in RECIPES.values() if r.task), Variant("greedy", MIXED, False)]


def _flow(values) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def template() -> str:
    return HEADER + f"""# Shared by every mixdistill task (mixdistill_plugin/harness/adapter.py): one document per
# (question, kind), the registry's student prompt, k sampled paths (repeats), a filter that reads
# every path (CoT extracted, PoT executed in the sandbox), and metrics that regroup a question's
# documents and score them as `mixdistill score` does.
custom_dataset: !function utils.load_docs
test_split: test
output_type: generate_until
doc_to_text: !function utils.doc_to_text
doc_to_target: "{{{{answer}}}}"
process_results: !function utils.process_results
num_fewshot: 0
# k = {REPEATS} sampled paths per kind (self-consistency sampling): `mixdistill eval --repeats K` for another.
repeats: {REPEATS}
filter_list:
  - name: paths
    filter:
      - function: !function utils.ReadAnswers
        timeout: 1.0
"""


def include(variant: Variant) -> str:
    """``_<variant>_yaml``: the variant's generation settings, metrics and kinds."""
    specs = [get_kind(kind) for kind in variant.kinds]
    (stop,) = {spec.stop for spec in specs}  # one request's stop sequences serve every kind of the task
    lines = [HEADER.rstrip("\n"), f"# The {variant.name} tasks: {variant.describe()}.", "include: _default_template_yaml"]
    if any(spec.reader == "execute" for spec in specs):
        lines.append("unsafe_code: true  # runs model-written programs: pass --confirm_run_unsafe_code")
    if not variant.sampled:
        lines.append("repeats: 1")
    lines += ["generation_kwargs:", "  until:", *(f"    - {_quoted(s)}" for s in stop),
              f"  do_sample: {str(variant.sampled).lower()}"]
    if variant.sampled:
        lines.append(f"  temperature: {TEMPERATURE}")
    lines += [f"  max_gen_toks: {max(spec.answer_tokens for spec in specs)}", "metric_list:"]
    for metric in variant.metrics:
        lines += [f"  - metric: {metric}", "    aggregation: !function utils.accuracy", "    higher_is_better: true"]
    lines += ["metadata:", "  version: 1.0"]
    return "\n".join(lines) + "\n"


def task(dataset: str, variant: Variant) -> str:
    """``<prefix>_<variant>.yaml``: the variant's include on ``dataset``."""
    about, kwargs = DATA[dataset]
    name = f"{TASK_PREFIXES[dataset]}_{variant.name}"
    kwargs = {**kwargs, "kinds": _flow(variant.kinds), **({} if variant.sampled else {"votes": "false"})}
    lines = [HEADER.rstrip("\n"), f"# {name}: the {variant.name} task on {about}.", f"include: _{variant.name}_yaml",
             f"task: {name}", "dataset_kwargs:", *(f"  {key}: {value}" for key, value in kwargs.items())]
    return "\n".join(lines) + "\n"


def group(name: str, tasks: list[str], about: str) -> str:
    lines = [HEADER.rstrip("\n"), f"# {about}", f"group: {name}", "task:", *(f"  - {t}" for t in tasks)]
    if name in GROUPS.values():
        lines.append("aggregate_metric_list: []")
    return "\n".join(lines + ["metadata:", "  version: 1.0"]) + "\n"


def render() -> dict[str, str]:
    """Every generated file of the task folder, by name."""
    files = {"_default_template_yaml": template()}
    for variant in variants():
        files[f"_{variant.name}_yaml"] = include(variant)
        for dataset in DATA:
            files[f"{TASK_PREFIXES[dataset]}_{variant.name}.yaml"] = task(dataset, variant)
    for dataset, name in GROUPS.items():
        tasks = [f"{TASK_PREFIXES[dataset]}_{v.name}" for v in variants()]
        files[f"_{TASK_PREFIXES[dataset]}_group.yaml"] = group(name, tasks, f"Every task on {DATA[dataset][0]}.")
    files["_mixdistill_group.yaml"] = group("mixdistill", list(GROUPS.values()), "Every mixdistill benchmark task.")
    return files


def main(argv: list[str]) -> int:
    """Write the files into the task folder, or with ``--check`` say which differ (exit 1)."""
    from mixdistill_plugin.startup import tasks_dir

    folder = Path(tasks_dir())
    files = render()
    if "--check" in argv:
        stale = sorted(name for name, text in files.items()
                       if not (folder / name).is_file() or (folder / name).read_text() != text)
        for name in stale:
            print(f"{folder / name} differs from the generator's output", file=sys.stderr)
        return 1 if stale else 0
    for name, text in files.items():
        (folder / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
