# lucid-dreamer: one command to install and rebuild, one to test.
#   make reproduce PRESET=cpu   install, then run every stage built so far at that preset
#   make test                   install, then run the whole test suite (what CI runs)
PYTHON ?= python3
PRESET ?= cpu
# The CPU wheel is pinned first: an unpinned torch pulls several GB of CUDA packages.
TORCH ?= torch==2.13.0

.PHONY: install reproduce test test-fast clean

install:
	$(PYTHON) -m pip install -q "$(TORCH)"
	$(PYTHON) -m pip install -q -e ".[test]"

reproduce: install
	$(PYTHON) -m lucid_dreamer.cli simulate --preset $(PRESET)
	$(PYTHON) -m lucid_dreamer.cli tokenize --preset $(PRESET)

test: install
	$(PYTHON) -m pytest -q

test-fast:
	$(PYTHON) -m pytest -q -m "not slow"

clean:
	rm -rf artifacts/smoke
