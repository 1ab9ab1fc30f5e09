# lucid-dreamer: one command to install and rebuild everything, one to test.
#   make book PRESET=cpu   install, run the notebooks with papermill (outputs in place), build the book
#                          (FROM_SCRATCH=1: retrain the models shipped in weights/ too)
#   make test              install, run ruff, unit tests, nbval (smoke preset), pair sync and a -W book build
#   make lock              refresh requirements.lock (the exact versions; needs uv) after pyproject.toml changes
#   make paper-scale OUT_DIR=DIR   the paper preset on one CUDA GPU in one command (records in DIR; wheels/ beside)
#   make wheels            download the wheels paper-scale needs beside torch (Python 3.12, manylinux) into wheels/
PYTHON ?= python3
PRESET ?= cpu
# Outside a virtual (or conda) environment make creates one in .venv and uses it: Debian's and
# Ubuntu's system Python refuse pip installs (PEP 668). VENV=.venv names another folder.
VENV ?= .venv
IN_ENV := $(shell $(PYTHON) -c "import os, sys; print(int(sys.prefix != sys.base_prefix or os.path.isdir(os.path.join(sys.prefix, 'conda-meta'))))" 2>/dev/null)
ifneq ($(IN_ENV),1)
BASE_PYTHON := $(PYTHON)
override PYTHON := $(VENV)/bin/python
ENV_DEP := $(VENV)/bin/python
endif
# torch's version comes from the lock. On Linux its CPU build is installed first, from PyTorch's CPU
# index (PyPI's Linux wheel pulls several GB of CUDA packages); where that index cannot be reached
# within a few seconds, PyPI's wheel is installed instead. TORCH=... chooses another build.
TORCH ?= torch==$(shell sed -n 's/^torch==//p' requirements.lock)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
ifneq ($(shell uname -s),Linux)
TORCH_INDEX :=
endif
NOTEBOOKS := 01_tokenization 02_posterior_collapse 03_training 04_dreaming 05_analysis 06_performance 07_comparison 08_conditions
# MuJoCo renders off-screen through EGL on Linux; elsewhere MuJoCo's own default (lucid_dreamer/world.py).
ifeq ($(shell uname -s),Linux)
export MUJOCO_GL ?= egl
endif
# FROM_SCRATCH=1 retrains everything, ignoring the trained weights shipped in weights/
ifeq ($(FROM_SCRATCH),1)
export LUCID_DREAMER_SHIPPED := 0
endif
JUPYTER_BOOK = $(PYTHON) -c "import sys; from jupyter_book.cli.main import main; sys.exit(main())"
PIP = $(PYTHON) -m pip install -q

.PHONY: install book notebooks html reproduce test lint test-fast lock clean weights wheels paper-scale paper-estimate paper-page

$(VENV)/bin/python:
	$(BASE_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip

install: $(ENV_DEP)
ifneq ($(TORCH_INDEX),)
	$(PIP) --timeout 5 --retries 0 --index-url $(TORCH_INDEX) $(TORCH) \
	  || { echo "$(TORCH_INDEX) not reachable: torch from the default index"; $(PIP) $(TORCH); }
else
	$(PIP) $(TORCH)
endif
	$(PIP) -r requirements.lock
	$(PIP) --no-deps -e .

book: install notebooks html

# Papermill runs each notebook in place; the preset reaches the parameters cell through the
# environment, so papermill injects no cell and the .py/.ipynb pairs stay in sync. The .ipynb is made
# afresh from the .py (papermill makes every output again): `--update` would keep the empty tags
# papermill gives every cell over the source's, and the book would show the cells the source hides.
notebooks:
	@for nb in $(NOTEBOOKS); do \
	  $(PYTHON) -m jupytext --quiet --to ipynb notebooks/$$nb.py || exit 1; \
	  start=$$(date +%s); \
	  LUCID_DREAMER_PRESET=$(PRESET) $(PYTHON) -m papermill --log-level WARNING notebooks/$$nb.ipynb notebooks/$$nb.ipynb || exit 1; \
	  echo "$$nb: $$(( $$(date +%s) - start )) s at preset $(PRESET)"; \
	done

html:
	$(JUPYTER_BOOK) build --quiet .
	@echo "book: _build/html/index.html"

reproduce: install
	$(PYTHON) -m lucid_dreamer.cli reproduce --preset $(PRESET)

lint:
	$(PYTHON) -m ruff check lucid_dreamer tests notebooks .ci

test: install lint
	$(PYTHON) -m pytest -q
	LUCID_DREAMER_PRESET=smoke $(PYTHON) -m pytest -q -p no:cacheprovider --nbval-lax notebooks/
	$(JUPYTER_BOOK) build --quiet --warningiserror --keep-going --path-output _build/test .
	$(PYTHON) .ci/check_book.py _build/test/_build/html

# Refresh the shipped weights (the cpu preset's main models, <= 10 MB) after their configs change.
weights:
	LUCID_DREAMER_PRESET=cpu $(PYTHON) -m lucid_dreamer.pipeline.weights_refresh

# The GPU run (no install: the GPU machine reaches no package index; missing packages come from wheels/).
OUT_DIR ?= paper_scale_out
BUDGET ?= 480
paper-scale:
	PYTHONPATH=$$($(PYTHON) -m lucid_dreamer.pipeline.offline --install wheels) $(PYTHON) -m lucid_dreamer.cli paper-scale --out $(OUT_DIR) --budget $(BUDGET) --install-wheels wheels

wheels:
	PYTHON=$(PYTHON) scripts/gather_wheels.sh wheels

# The estimate of paper-scale's GPU time (figures/data/paper_scale/estimate.json), on any CPU.
paper-estimate:
	$(PYTHON) -m lucid_dreamer.pipeline.paper_estimate

# The book's paper-scale page from the records under figures/data/paper_scale/ (after a GPU run is committed there).
paper-page:
	$(PYTHON) -m lucid_dreamer.book.paper_scale_book

test-fast:
	$(PYTHON) -m pytest -q -m "not slow"

# The exact versions in requirements.lock; UPGRADE=1 moves every pin to the newest allowed.
lock:
	UPGRADE=$(UPGRADE) bash .ci/lock

clean:
	rm -rf artifacts/smoke _build
