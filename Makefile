# Two commands on a fresh machine: `make demo` and `make test`. Both create
# the environment first (`make install`), which reuses a complete .venv.
VENV   ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: install test test-fast demo accuracy lint format clean

install:
	@bash tools/install_env.sh

# The ExecuTorch and LiteRT converters, and ExecuTorch's runtime: about
# 1.3 GB and 2-3 minutes, in .venv-converters beside .venv (they need numpy
# 2; requirements/converters.txt says why).
.PHONY: install-converters
install-converters: install
	@bash tools/install_env.sh --converters

# Two pytest workers, one compute thread each (the mim subprocesses inherit
# it): more threads than cores slows the end-to-end runs many times over.
# `make test` runs everything (the ExecuTorch and LiteRT tests need the
# converters, so it installs them); `make test-fast` only the unit tests (the
# tests marked slow run mim, train, export or start interpreters).
test: install-converters
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PYTHON) -m pytest -n 2 tests

test-fast: install-converters
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PYTHON) -m pytest -n 2 -m "not slow" tests

# The pose and segmentation demos each train a Lite-HRNet-18 on data they
# generate, evaluate it and draw pictures under work_dirs/demo/.
DEMOS := $(wildcard tools/demo/pose_demo.py tools/demo/seg_demo.py)

demo: install
	$(PYTHON) tools/demo/backbone_demo.py
	@for demo in $(DEMOS); do echo "== $$demo"; $(PYTHON) $$demo || exit 1; done

# Every runtime and precision of tools/deploy/export.py on the two trained
# demo models (make demo first), through the hosts' own test loops: AP on
# the pose demo's held-out images, mIoU on the seg demo's. Tables in
# work_dirs/accuracy/*/accuracy.md; about 45 min per model on 2 cores.
POSE_DEMO := configs/demo/td-hm_litehrnet-18_synthetic-128x96.py
SEG_DEMO  := configs/demo/fcn_litehrnet-18_1xb16-600iter_synthetic-seg-64x64.py

accuracy: install-converters
	$(PYTHON) tools/deploy/accuracy.py $(POSE_DEMO) \
	    work_dirs/demo/pose/train/epoch_8.pth --shape 128 96
	$(PYTHON) tools/deploy/accuracy.py $(SEG_DEMO) \
	    work_dirs/demo/seg/train/iter_600.pth --shape 64 64

lint: install
	$(VENV)/bin/ruff check litehrnet_mm tools tests configs
	$(VENV)/bin/ruff format --check litehrnet_mm tools tests configs

format: install
	$(VENV)/bin/ruff check --fix litehrnet_mm tools tests configs
	$(VENV)/bin/ruff format litehrnet_mm tools tests configs

clean:
	rm -rf work_dirs .pytest_cache .ruff_cache
