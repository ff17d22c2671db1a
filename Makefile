# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 7860

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install run index test lint bench clean browser

install: $(STAMP)

# Re-installs only when pyproject.toml changes; torch is pinned there (==2.13.0, CPU build).
# The optional stores and embedders (PostgreSQL, Ray) are installed too: the tests use them.
# `qa prepare` exports the bundled model to ONNX once (~15 s; ~/.cache/qa-docs/onnx), so that
# no later start pays for it.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres,ray]'
	$(BIN)/qa prepare
	touch $(STAMP)

index: $(STAMP)
	$(BIN)/qa index seeds

run: index
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

# Debian's Chromium drives the browser tests (Playwright's own download does not work offline).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v /usr/bin/chromium >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium >/dev/null); \
	    else echo "chromium is missing: browser tests will be skipped (sudo apt-get install chromium)"; fi; }

lint: $(STAMP)
	$(BIN)/ruff check qa tests app.py benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) browser lint
	$(BIN)/python -m pytest

# The quick peer comparison (a few minutes): this project, sentence-transformers + FAISS and
# txtai on a sample of scifact (../shared/datasets). The full one: see benchmarks/compare_peers.py.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/compare_peers.py --docs 300 --queries 100 --rounds 1

clean:
	rm -rf $(VENV) index/manifest.json index/catalog-* index/seg-* index/embeddings.sqlite
