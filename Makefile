# The two commands of the README:
#   make demo   set up .venv, simulate the tutorial-shaped demo data (once), run the workflow
#   make test   set up .venv and run the whole test suite (two pytest workers, one file each)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo
CORES ?= 2

.PHONY: setup demo test lint clean-demo

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(BIN)/.installed

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
