# The two commands of the README:
#   make demo   set up .venv, simulate the tutorial-shaped demo data (once), run the workflow
#   make test   set up .venv and run the whole test suite (two pytest workers, one file each)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo
CORES ?= 2

.PHONY: setup setup-locked lock demo test lint clean-demo

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed

# the exact versions the tests ran with (requirements-lock.txt), instead of pyproject's ranges
setup-locked:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(BIN)/.installed

# rewrite requirements-lock.txt from the installed environment (after changing pyproject.toml)
lock: setup
	$(BIN)/python envs/make_lock.py

$(DEMO)/raw/.complete: | setup
	$(BIN)/gmos simulate --preset tutorial $(DEMO)/raw
	touch $@

demo: setup $(DEMO)/raw/.complete
	$(BIN)/snakemake -s Snakefile -d $(DEMO) --configfile config/demo.yaml --cores $(CORES)

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint --config raw_dir=.

clean-demo:
	rm -rf $(DEMO)
