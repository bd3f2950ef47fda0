"""One teacher folder from the folders of ``generate --shard I/N`` runs (:mod:`mixdistill_plugin.shards`).

The shards' settings must be the same but for the spec; the merged folder's ``config.json`` is the
shards' without it, so ``generate`` with the same options on the merged folder resumes it like a
single run (asking only what no shard has, e.g. a missing shard's questions). Merging unions the raw
lines (the merged folder's own included), so merging twice, or again after more shards finish,
loses and duplicates nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from mixdistill_plugin.answers import DEFAULT_TOLERANCE
from mixdistill_plugin.errors import UserError
from mixdistill_plugin.generate import RAW, RunConfig, RunFiles, finish, labelling_of, read_questions
from mixdistill_plugin.jsonl import write_jsonl_atomic, write_atomic
from mixdistill_plugin.shards import parse_shard


@dataclass
class Merged:
    """What a merge did: the stats of the merged folder, the shards merged, those missing."""

    stats: dict
    shards: list[str]
    missing: list[str] = field(default_factory=list)


def merge(out: Path, folders: Sequence[Path]) -> Merged:
    """Merge the shard ``folders`` into ``out`` (see the module doc)."""
    if len({Path(f).resolve() for f in folders}) < len(folders):
        raise UserError("the same shard folder twice; give each shard's folder once")
    configs = {}
    for folder in folders:
        files = RunFiles(folder)
        if not files.config.exists() or not files.questions.exists():
            raise UserError(f"{folder}: not a teacher folder (no config.json/questions.jsonl); give the folders "
                            "`mixdistill generate --shard I/N --out` wrote")
        configs[folder] = files.read_config()
    specs = [c.shard for c in configs.values()]
    if None in specs:
        unsharded = [str(f) for f, c in configs.items() if c.shard is None]
        raise UserError(f"{', '.join(unsharded)}: not a shard (its config.json has no shard); merge the folders "
                        "of `generate --shard I/N` runs")
    if len(set(specs)) < len(specs):
        raise UserError(f"the same shard twice: {', '.join(sorted(s for s in set(specs) if specs.count(s) > 1))}")
    counts = {parse_shard(s)[1] for s in specs}
    if len(counts) > 1:
        raise UserError(f"shards of different partitions: {', '.join(sorted(specs))}")
    merged = _one_config(configs)
    target = RunFiles(out)
    if target.config.exists():
        before = target.read_config()
        if before != merged:
            raise UserError(f"{target.config}: holds a run with other settings than the shards'; merge into a new "
                            "folder")
    (count,) = counts
    missing = [f"{i}/{count}" for i in range(count) if f"{i}/{count}" not in specs]
    questions = {q.id: q for q in (read_questions(target.questions) if target.questions.exists() else [])}
    lines: dict[str, None] = {}
    for folder in [out, *folders]:
        for completion in RAW.read(RunFiles(folder).raw)[0]:
            lines.setdefault(completion.model_dump_json(), None)
        if folder != out:
            questions.update((q.id, q) for q in read_questions(RunFiles(folder).questions))
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(target.config, merged.model_dump_json(indent=2) + "\n")
    write_jsonl_atomic(target.questions, (q.model_dump() for q in questions.values()))
    completions = [RAW.model.model_validate_json(line) for line in lines]
    write_atomic(target.raw, "".join(line + "\n" for line in lines))
    stats = finish(target, merged.samples, None, completions, questions=list(questions.values()),
                   labelling=labelling_of(RunFiles(folders[0]), merged, DEFAULT_TOLERANCE))
    return Merged(stats, sorted(specs), missing)


def _one_config(configs: dict[Path, RunConfig]) -> RunConfig:
    """The shards' common settings (the spec left out); a :class:`UserError` naming what differs."""
    first_folder, first = next(iter(configs.items()))
    common = first.model_copy(update={"shard": None})
    for folder, config in configs.items():
        other = config.model_copy(update={"shard": None})
        if other != common:
            what = "; ".join(f"{k}: {getattr(common, k)!r} in {first_folder}, {getattr(other, k)!r} in {folder}"
                             for k in RunConfig.model_fields if getattr(common, k) != getattr(other, k))
            raise UserError(f"the shards were run with different settings ({what}); merge shards of one run")
    return common
