# lucid-dreamer: one command to install and rebuild everything, one to test.
#   make book PRESET=cpu   install, run the notebooks with papermill (outputs in place), build the book
#                          (FROM_SCRATCH=1: retrain the models shipped in weights/ too)
#   make test              install, run unit tests, nbval (smoke preset), pair sync and a -W book build
#   make paper-scale OUT_DIR=DIR   the paper preset on one CUDA GPU in one command (records in DIR; wheels/ beside)
#   make wheels            download the wheels paper-scale needs beside torch (Python 3.12, manylinux) into wheels/
PYTHON ?= python3
PRESET ?= cpu
# The CPU wheel is pinned first: an unpinned torch pulls several GB of CUDA packages.
TORCH ?= torch==2.13.0
NOTEBOOKS := 01_tokenization 02_posterior_collapse 03_training 04_dreaming 05_analysis 06_performance 07_comparison 08_conditions
export MUJOCO_GL ?= egl
# FROM_SCRATCH=1 retrains everything, ignoring the trained weights shipped in weights/
ifeq ($(FROM_SCRATCH),1)
export LUCID_DREAMER_SHIPPED := 0
endif

.PHONY: install book notebooks html reproduce test test-fast clean weights wheels paper-scale paper-estimate paper-page

install:
	$(PYTHON) -m pip install -q $(TORCH)
	$(PYTHON) -m pip install -q -e ".[test,book]"

book: install notebooks html

# Papermill runs each notebook in place; the preset reaches the parameters cell through the
# environment, so papermill injects no cell and the .py/.ipynb pairs stay in sync.
notebooks:
	@for nb in $(NOTEBOOKS); do \
	  $(PYTHON) -m jupytext --quiet --to ipynb --update notebooks/$$nb.py || exit 1; \
	  start=$$(date +%s); \
	  LUCID_DREAMER_PRESET=$(PRESET) $(PYTHON) -m papermill --log-level WARNING notebooks/$$nb.ipynb notebooks/$$nb.ipynb || exit 1; \
	  echo "$$nb: $$(( $$(date +%s) - start )) s at preset $(PRESET)"; \
	done

html:
	jupyter-book build --quiet .
	@echo "book: _build/html/index.html"

reproduce: install
	$(PYTHON) -m lucid_dreamer.cli reproduce --preset $(PRESET)

test: install
	$(PYTHON) -m pytest -q
	LUCID_DREAMER_PRESET=smoke $(PYTHON) -m pytest -q -p no:cacheprovider --nbval-lax notebooks/
	jupyter-book build --quiet --warningiserror --keep-going --path-output _build/test .
	$(PYTHON) .ci/check_book.py _build/test/_build/html

# Refresh the shipped weights (the cpu preset's main models, <= 10 MB) after their configs change.
weights:
	LUCID_DREAMER_PRESET=cpu $(PYTHON) -m lucid_dreamer.weights

# The GPU run (no install: the GPU machine reaches no package index; missing packages come from wheels/).
OUT_DIR ?= paper_scale_out
BUDGET ?= 480
paper-scale:
	$(PYTHON) -m lucid_dreamer.cli paper-scale --out $(OUT_DIR) --budget $(BUDGET) --install-wheels wheels

wheels:
	PYTHON=$(PYTHON) scripts/gather_wheels.sh wheels

# The estimate of paper-scale's GPU time (figures/data/paper_scale/estimate.json), on any CPU.
paper-estimate:
	$(PYTHON) -m lucid_dreamer.paper_estimate

# The book's paper-scale page from the records under figures/data/paper_scale/ (after a GPU run is committed there).
paper-page:
	$(PYTHON) -m lucid_dreamer.paper_scale_book

test-fast:
	$(PYTHON) -m pytest -q -m "not slow"

clean:
	rm -rf artifacts/smoke _build
