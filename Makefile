# The two commands of the README:
#   make demo   set up .venv, simulate the tutorial-shaped demo data (once), run the workflow
#   make test   set up .venv and run the whole test suite (two pytest workers, one file each):
#               the unit tier first (make test-unit: no Snakemake run, no large simulation),
#               then the tests marked `slow` (workflow and end-to-end runs)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo
CORES ?= 2

.PHONY: setup setup-locked lock demo test test-unit test-slow lint clean-demo

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

# Two tiers, marker `slow` (pyproject.toml).  pytest exits 5 when a tier selects no test:
# an empty tier is not a failure.
UNIT_TIER = $(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow" || [ $$? -eq 5 ]
SLOW_TIER = $(BIN)/python -m pytest -q -n 2 --dist loadfile -m slow || [ $$? -eq 5 ]

test-unit: setup
	$(UNIT_TIER)

test-slow: setup
	$(SLOW_TIER)

test: test-unit
	$(SLOW_TIER)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/snakemake --lint --config raw_dir=.
	$(BIN)/snakefmt --check Snakefile rules/

clean-demo:
	rm -rf $(DEMO)
