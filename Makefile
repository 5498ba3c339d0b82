# Two commands for a fresh machine: `make run` (the dashboard on the demo catalog) and
# `make test` (the whole test suite). Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: run test install system-deps lint eval bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,ray,lance]"
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium (end-to-end test) and pdftoppm (PDF report rendering) are Debian packages.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils; \
	  else \
	    echo "note: install chromium and poppler-utils (sudo apt-get install chromium poppler-utils) for the browser and PDF tests"; \
	  fi; \
	fi

run: install
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: install system-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

eval: install
	$(BIN)/python scripts/evaluate_quality.py
	$(BIN)/python scripts/evaluate_search.py

bench: install
	$(BIN)/python benchmarks/bench_quality.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
