# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
DB     ?= data/crm.duckdb
PORT   ?= 8501
# empty: .streamlit/config.toml's server.address (127.0.0.1); e.g. ADDRESS=0.0.0.0 to listen on every interface
ADDRESS ?=

.PHONY: run test venv dev init sample bench clean

venv: $(VENV)/.installed
dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## Load the sample company into an empty store (does nothing when the store has data).
init: venv
	CRM_DB=$(DB) $(PY) -m crm_metrics init

## Create the environment, load the sample company into an empty store, start the app.
run: init
	CRM_DB=$(DB) $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true \
		$(if $(ADDRESS),--server.address $(ADDRESS))

## Create the environment (with test packages) and run every test.
test: dev
	$(PY) -m pytest -q

## Regenerate the committed sample company.
sample: venv
	$(PY) -m crm_metrics sample --out sample_data

bench: dev
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache *.egg-info
