# nnprobe set-up: `make demo` runs every study on built-in data into one report (and prints its path),
# `make test` runs the whole suite (skipped tests are listed with their reason).
# Both create .venv when missing and re-install only when pyproject.toml or constraints.txt changed.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

# The dev extras include Playwright, which drives the system Chromium (.ci/run installs it with apt-get);
# Playwright's own browser download is never used. The ray extra lets the tests run a local Ray cluster.
$(STAMP_DEV): pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e ".[dev,ray]"
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(VENV)/bin/nnprobe reproduce

test: $(STAMP_DEV)
	$(PY) -m pytest -q -rs

bench: $(STAMP_DEV)
	$(PY) benchmarks/bench_memorize.py
	$(PY) benchmarks/bench_threads.py
	$(PY) benchmarks/bench_audit.py
	$(PY) benchmarks/bench_explain.py
	$(PY) benchmarks/bench_ray.py

clean:
	rm -rf $(VENV) runs build src/*.egg-info .pytest_cache
