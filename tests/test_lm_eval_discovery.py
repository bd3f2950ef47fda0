"""`lm_eval --tasks svamp_mixed` with no flag: the start-up hook, in this install, in a wheel, after uninstall."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from mixdistill_plugin.startup import tasks_dir

SITE = Path(sysconfig.get_paths()["purelib"])
OURS = ["svamp_cot", "svamp_pot", "svamp_mixed", "svamp_greedy", "svamp_direct", "gsm8k_md_cot", "gsm8k_md_pot",
        "gsm8k_md_mixed", "gsm8k_md_greedy", "gsm8k_md_direct", "mixdistill", "mixdistill_svamp", "mixdistill_gsm8k"]


def offline_env(**extra: str) -> dict:
    # no PYTHONPATH: the environment under test is the one the interpreter run belongs to
    env = {k: v for k, v in os.environ.items() if k not in ("MIXDISTILL_DATA_DIR", "PYTHONPATH")}
    return env | {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                  "TOKENIZERS_PARALLELISM": "false", **extra}


def test_this_install_carries_the_hook_and_uninstall_would_remove_it():
    assert (SITE / "mixdistill.pth").read_text() == "import mixdistill_plugin.startup\n"
    (record,) = SITE.glob("mixdistill-*.dist-info/RECORD")
    assert any(line.startswith("mixdistill.pth,") for line in record.read_text().splitlines())
    assert Path(tasks_dir(), "svamp_mixed.yaml").is_file()


@pytest.mark.slow  # indexes every built-in lm-eval task
def test_task_manager_indexes_our_tasks_after_its_own_and_include_path_still_overrides(tmp_path):
    from lm_eval.tasks import TaskManager

    mine = tmp_path / "my_tasks"
    mine.mkdir()
    for name in ("_default_template_yaml", "_cot_yaml", "utils.py"):
        shutil.copy(Path(tasks_dir()) / name, mine / name)
    (mine / "svamp_cot.yaml").write_text((Path(tasks_dir()) / "svamp_cot.yaml").read_text() + "repeats: 3\n")

    manager = TaskManager(include_path=str(mine))  # what `lm_eval --include_path my_tasks` builds
    index = manager.task_index
    assert set(OURS) <= set(manager.all_tasks) and "gsm8k_cot" in manager.all_tasks  # ours beside lm-eval's
    assert index["svamp_mixed"]["yaml_path"] == os.path.join(tasks_dir(), "svamp_mixed.yaml")
    assert index["svamp_cot"]["yaml_path"] == str(mine / "svamp_cot.yaml")  # the user's path still wins
    only_mine = TaskManager(include_path=str(mine), include_defaults=False)  # no defaults asked: none added
    assert only_mine.all_tasks == ["svamp_cot"]


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_lm_eval_runs_svamp_mixed_with_no_flag_from_another_folder(smollm2, tmp_path):
    """The command as a user types it, in an empty folder, offline, no data folder set.

    At the tasks' defaults (10 sampled paths of up to 256 tokens, batch size 1) the 20 generations
    take from a few minutes to half an hour on 2 busy CPU cores."""
    lm_eval = Path(sys.executable).parent / "lm_eval"
    cmd = [str(lm_eval), "--tasks", "svamp_mixed", "--model", "hf", "--model_args", f"pretrained={smollm2}",
           "--limit", "2", "--confirm_run_unsafe_code"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=offline_env(), timeout=3500)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    for metric in ("cot_acc", "pot_acc", "cot_maj", "pot_maj", "mixed_maj"):
        assert any(metric in line and "paths" in line for line in table), proc.stdout[-3000:]
    assert "svamp_mixed" in proc.stdout


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_lm_eval_runs_a_label_task_with_no_flag_from_another_folder(smollm2, tmp_path):
    """`lm_eval --tasks cqa_cot` as typed: the shipped CommonsenseQA, choices read from the student's text."""
    lm_eval = Path(sys.executable).parent / "lm_eval"
    cmd = [str(lm_eval), "--tasks", "cqa_cot", "--model", "hf", "--model_args", f"pretrained={smollm2}",
           "--limit", "2", "--gen_kwargs", "max_gen_toks=32", "--log_samples", "--output_path", str(tmp_path / "out")]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=offline_env(), timeout=3500)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert any("cot_acc" in line for line in table) and any("cot_maj" in line for line in table)
    (samples,) = (tmp_path / "out").glob("*/samples_cqa_cot_*.jsonl")
    docs = [json.loads(line) for line in samples.read_text().splitlines()]
    assert [d["doc"]["answer"] for d in docs] == ["wooded area", "go downtown"]
    read = [(ast.literal_eval(p)["answer"], d["doc"]["choices"]) for d in docs for p in d["filtered_resps"][0]]
    assert len(read) == 20 and all(answer in (*choices, None) for answer, choices in read)  # logged as text


def copy_of_the_project(dest: Path) -> Path:
    """The project's files (tracked and untracked, not ignored), symlinks kept."""
    names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, names):
        source, target = REPO / name, dest / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return dest


def bare_environment(root: Path) -> Path:
    """A venv that sees this environment's packages (lm-eval, torch...) but no mixdistill at all."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    deps = root / "deps"
    deps.mkdir()
    for entry in SITE.iterdir():
        if not (entry.name.endswith(".pth") or "mixdistill" in entry.name.lower() or entry.name == "__pycache__"):
            (deps / entry.name).symlink_to(entry)
    python = root / "venv" / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "_deps.pth").write_text(f"{deps}\n")  # a path line: its folder's own .pth files are not run
    return python


def pip(python: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check",
                           *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def run(python: Path, code: str, cwd: Path) -> str:
    proc = subprocess.run([str(python), "-c", code], cwd=cwd, capture_output=True, text=True, env=offline_env(),
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


HOOKED = "import lm_eval.tasks as t; print(hasattr(t.TaskManager.__init__, '__wrapped__'))"


@pytest.mark.slow
def test_wheel_and_editable_installs_find_the_tasks_and_uninstall_leaves_nothing(tmp_path):
    project = copy_of_the_project(tmp_path / "project")
    probe = project / "mixdistill_plugin" / "datasets" / "probe" / "deeper" / "rows.jsonl.xz"  # any depth, any file
    probe.parent.mkdir(parents=True)
    probe.write_bytes(b"not read")
    data = project / "mixdistill_plugin" / "datasets"
    in_source = {f"mixdistill_plugin/datasets/{p.relative_to(data).as_posix()}" for p in data.rglob("*") if p.is_file()}
    python = bare_environment(tmp_path)
    site = python.parent.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    before = sorted(p.name for p in site.iterdir())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert run(python, HOOKED, elsewhere).strip() == "False"

    pip(python, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(project))
    (wheel,) = (tmp_path / "dist").glob("mixdistill-*.whl")
    assert wheel.stat().st_size < 7_600_000  # 6.3 MB with the compressed benchmarks and recordings
    with zipfile.ZipFile(wheel) as built:
        shipped = set(built.namelist())
    assert {name for name in shipped if name.startswith("mixdistill_plugin/datasets/")} == in_source
    assert {"mixdistill_plugin/datasets/probe/deeper/rows.jsonl.xz", "mixdistill_plugin/datasets/cqa/train.jsonl.gz",
            "mixdistill_plugin/datasets/strategyqa/LICENSE"} <= in_source
    pip(python, "install", "--no-deps", "--no-index", str(wheel))
    assert (site / "mixdistill.pth").is_file()
    listing = subprocess.run([str(python), "-m", "lm_eval", "ls", "tasks"], cwd=elsewhere, capture_output=True,
                             text=True, env=offline_env(), timeout=600)
    assert listing.returncode == 0, listing.stderr[-3000:]
    for task in OURS:
        (row,) = [line for line in listing.stdout.splitlines() if line.startswith(f"|{task} ")]
        assert str(site / "mixdistill_plugin" / "harness" / "tasks") in row  # the wheel's own copy
    loaded = run(python, "from mixdistill_plugin.data import SHIPPED, shipped_rows; "
                         "from mixdistill_plugin.tasks import load_questions; "
                         "print(*(len(load_questions(d)[0]) for d in ('svamp', 'cqa', 'esnli', 'strategyqa')), "
                         "len(shipped_rows(SHIPPED / 'recordings' / 'cqa_palm_cot.jsonl.gz')), SHIPPED)", elsewhere).split()
    assert loaded == ["200", "1221", "9824", "229", "9741", str(site / "mixdistill_plugin" / "datasets")]

    pip(python, "uninstall", "--yes", "mixdistill")
    assert sorted(p.name for p in site.iterdir()) == before
    assert run(python, HOOKED, elsewhere).strip() == "False"  # lm-eval as it was

    pip(python, "install", "--no-deps", "--no-build-isolation", "--editable", str(project))  # what make install does
    assert (site / "mixdistill.pth").read_text() == "import mixdistill_plugin.startup\n"
    assert run(python, HOOKED + "; from mixdistill_plugin.startup import tasks_dir; print(tasks_dir())",
               elsewhere).split() == ["True", str(project / "mixdistill_plugin" / "harness" / "tasks")]
    pip(python, "uninstall", "--yes", "mixdistill")
    assert sorted(p.name for p in site.iterdir()) == before
