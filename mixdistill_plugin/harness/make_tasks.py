"""Write mixdistill's lm-eval task YAMLs from the prompt registry and the recipes.

    python -m mixdistill_plugin.harness.make_tasks           # rewrite the task folder
    python -m mixdistill_plugin.harness.make_tasks --check   # exit 1 if a file differs

Tasks are dataset x variant, named ``<prefix>_<variant>`` (the prefix from the task registry,
:mod:`mixdistill_plugin.tasks`; ``file_md`` for a file of the user's own). A variant is what a recipe
is evaluated by (its ``task`` and the kinds its student answers with), plus ``greedy``: one greedy
path of each kind of :data:`scoring.MIXED`; a dataset has the variants whose kinds all apply to it
(no PoT on label answers). Each variant's include ``_<variant>_yaml`` holds its metrics and
generation settings, once; each task file names its include, its data and its kinds
(``dataset_kwargs``, from which the documents' metrics follow). ``_default_template_yaml`` holds what
every task shares. Each registered dataset has a group ``mixdistill_<dataset>`` of its tasks; the
group ``mixdistill`` holds those of the shipped datasets (the others need the hub).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from mixdistill_plugin.prompts import get_kind
from mixdistill_plugin.recipes import RECIPES
from mixdistill_plugin.scoring import MIXED, metrics_of
from mixdistill_plugin.tasks import FILE, FILE_PREFIX, get_task, task_names as registered

REPEATS = 10
TEMPERATURE = 0.7
HEADER = "# Written by `python -m mixdistill_plugin.harness.make_tasks` from the registry; edit that, not this file.\n"
FILE_ABOUT = "a file of your own, every row: `mixdistill eval --dataset PATH` or --metadata '{\"file\": \"PATH\"}'"


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
    """What each recipe is evaluated by (once per variant name), then ``greedy``."""
    found = {r.task: Variant(r.task, r.evaluates) for r in RECIPES.values() if r.task}
    return [*found.values(), Variant("greedy", MIXED, False)]


def datasets() -> list[str]:
    """The registered datasets, then :data:`tasks.FILE`."""
    return [*registered(), FILE]


def prefix(dataset: str) -> str:
    return FILE_PREFIX if dataset == FILE else get_task(dataset).prefix


def dataset_variants(dataset: str) -> list[Variant]:
    """The variants whose kinds all apply to ``dataset`` (a file: every variant, checked when it is read)."""
    if dataset == FILE:
        return variants()
    return [v for v in variants() if set(v.kinds) <= set(get_task(dataset).kinds)]


def task_names(dataset: str) -> list[str]:
    return [f"{prefix(dataset)}_{v.name}" for v in dataset_variants(dataset)]


def group_name(dataset: str) -> str:
    """The group of ``dataset``'s tasks (none for a file)."""
    return "" if dataset == FILE else f"mixdistill_{dataset}"


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
    if dataset == FILE:
        about, kwargs = FILE_ABOUT, {}
    else:
        spec = get_task(dataset)
        about, kwargs = spec.about, {"dataset": dataset, "split": spec.test_split}
    name = f"{prefix(dataset)}_{variant.name}"
    kwargs = {**kwargs, "kinds": _flow(variant.kinds), **({} if variant.sampled else {"votes": "false"})}
    lines = [HEADER.rstrip("\n"), f"# {name}: the {variant.name} task on {about}.", f"include: _{variant.name}_yaml",
             f"task: {name}", "dataset_kwargs:", *(f"  {key}: {value}" for key, value in kwargs.items())]
    return "\n".join(lines) + "\n"


def group(name: str, tasks: list[str], about: str) -> str:
    lines = [HEADER.rstrip("\n"), f"# {about}", f"group: {name}", "task:", *(f"  - {t}" for t in tasks)]
    if name != "mixdistill":
        lines.append("aggregate_metric_list: []")
    return "\n".join(lines + ["metadata:", "  version: 1.0"]) + "\n"


def render() -> dict[str, str]:
    """Every generated file of the task folder, by name."""
    files = {"_default_template_yaml": template()}
    for variant in variants():
        files[f"_{variant.name}_yaml"] = include(variant)
    for dataset in datasets():
        for variant in dataset_variants(dataset):
            files[f"{prefix(dataset)}_{variant.name}.yaml"] = task(dataset, variant)
    for dataset in registered():
        files[f"_{prefix(dataset)}_group.yaml"] = group(group_name(dataset), task_names(dataset),
                                                         f"Every task on {get_task(dataset).about}.")
    shipped = [group_name(d) for d in registered() if get_task(d).shipped]
    files["_mixdistill_group.yaml"] = group("mixdistill", shipped, "Every mixdistill task on a shipped benchmark.")
    return files


def main(argv: list[str]) -> int:
    """Write the files into the task folder (removing files it no longer makes), or with ``--check`` say
    which differ or should not be there (exit 1)."""
    from mixdistill_plugin.startup import tasks_dir

    folder = Path(tasks_dir())
    files = render()
    stale = sorted(p.name for p in folder.iterdir() if p.name not in files and p.name != "utils.py")
    if "--check" in argv:
        stale += sorted(name for name, text in files.items()
                        if not (folder / name).is_file() or (folder / name).read_text() != text)
        for name in stale:
            print(f"{folder / name} differs from the generator's output (or it makes no such file)", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        (folder / name).unlink()
    for name, text in files.items():
        (folder / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
