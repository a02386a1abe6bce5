# wsss_mmseg - the README's two commands and their environment.
#
#   make demo   toy dataset -> CAM baseline trained by 2 CPU (or GPU)
#               processes with tools/dist_train.sh -> tools/test.py mIoU table
#   make test   the whole test suite (pytest)
#   make venv   only create/update the virtual environment in .venv/
#
# Every target creates .venv/ on first use (python3 -m venv, the pinned CPU
# stack of requirements/ci.txt, then `pip install -e .[tests]`) and reuses it
# afterwards: a stamp file records a finished install, so a warm venv
# installs nothing. Editing setup.py or requirements/*.txt reinstalls.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.wsss_mmseg-installed

# demo settings (override on the command line: make demo NPROC=1)
DEMO_CONFIG ?= configs/cam/cam_resnet-tiny_toy.py
DEMO_DATA ?= data/toy
DEMO_WORK_DIR ?= work_dirs/demo
NPROC ?= 2
PORT ?= 29500
# extra pytest arguments, e.g. make test PYTEST_ARGS='-m "not slow"'
PYTEST_ARGS ?=

.PHONY: help venv install demo test

help:
	@sed -n '2,11p' Makefile

venv install: $(STAMP)

$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt \
		requirements/ci.txt
	@test -x $(PY) || { echo "creating $(VENV)/ with $(PYTHON)"; \
		$(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -r requirements/ci.txt
	$(PY) -m pip install -e '.[tests]'
	@# torch's dependencies may pull a newer setuptools; mmengine needs
	@# pkg_resources, which setuptools 82 removed.
	$(PY) -m pip install 'setuptools<82'
	$(PY) -c 'import pkg_resources, wsss_mmseg; print("wsss_mmseg", wsss_mmseg.__version__, "installed")'
	@touch $@

demo: $(STAMP)
	$(PY) tools/dataset_converters/make_toy_dataset.py --out-dir $(DEMO_DATA)
	PYTHON=$(abspath $(PY)) PORT=$(PORT) tools/dist_train.sh \
		$(DEMO_CONFIG) $(NPROC) --work-dir $(DEMO_WORK_DIR)
	@# one thread: 2 OpenMP threads on 2 busy cores can be 10x slower
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) tools/test.py $(DEMO_CONFIG) \
		"$$(cat $(DEMO_WORK_DIR)/last_checkpoint)" \
		--work-dir $(DEMO_WORK_DIR)/test

# pytest exits with 5 when it collected nothing: that is a failure too.
test: $(STAMP)
	@OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(PY) -m pytest $(PYTEST_ARGS); \
	rc=$$?; \
	if [ $$rc -eq 5 ]; then \
		echo "make test: pytest collected no tests" >&2; exit 1; \
	fi; \
	exit $$rc
