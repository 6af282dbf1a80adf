# Two commands for a fresh machine (see README.md):
#   make run    set up .venv/, build the bundled dataset, open the dashboard
#   make test   set up .venv/ with test tools and Chromium, run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUNDLED := data/flowers_train.csv data/flowers_test.csv
PORT ?= 8501

.PHONY: run test setup setup-dev data browser lint bench clean-cache

run: setup data
	$(PY) -m streamlit run app.py --server.port $(PORT)

test: setup-dev data browser
	bash scripts/run_tests.sh

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --editable .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# The bundled dataset is built from the committed photos by our own converter (deterministic).
data: $(BUNDLED)
$(BUNDLED) &: $(VENV)/.installed $(wildcard data/flower_photos_64/images/*/*.png)
	$(PY) -m flowerdash convert data/flower_photos_64/images data/flowers --size 64 --test-fraction 0.25 --seed 42

# Debian's Chromium for the real-browser test (Playwright drives it; no browser download).
browser:
	@bash scripts/ensure_chromium.sh

lint: setup-dev
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

bench: setup data
	$(PY) benchmarks/parse.py
	$(PY) benchmarks/train.py
	$(PY) benchmarks/pages.py
	$(PY) benchmarks/dashboard_overhead.py
	$(PY) benchmarks/pretrained_port.py

clean-cache: setup
	$(PY) -m flowerdash cache clear
