# compatlab: `make simulate` runs the experiment locally; `make test` checks everything.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= results

.PHONY: install simulate generate test lint typecheck bench lock clean mutate

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

install: $(STAMP)

simulate: $(STAMP)
	$(BIN)/compatlab simulate --stack full --out $(OUT)/full

generate: $(STAMP)
	$(BIN)/compatlab generate --stack full --out $(OUT)/generated-full

lint: $(STAMP)
	$(BIN)/ruff check .

# mypy --strict over compatlab/ ([tool.mypy] in pyproject.toml).
typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

lock: $(STAMP)
	(echo "# The whole dependency tree, pinned (pip freeze of a working .venv). Regenerate with 'make lock'."; \
	 $(BIN)/pip freeze --exclude-editable | grep -v '^compatlab'; echo setuptools==84.2.1) > requirements.lock

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info mutants

# Mutation testing of the core modules ([tool.mutmut] in pyproject.toml lists them and the tests it runs).
# Slow (see README, "Testing"), so not part of `make test`. Starts from scratch, two workers; or reruns only
# some modules' mutants, keeping the others' results: make mutate MUTANTS='compatlab.cost* compatlab.files*'.
# mutmut's progress goes to mutants/run.log; the score per module and overall is printed at the end.
MUTATE_CHILDREN ?= 2
MUTANTS ?=
mutate: $(STAMP)
	$(if $(MUTANTS),mkdir -p mutants,rm -rf mutants && mkdir mutants)
	$(BIN)/mutmut run --max-children $(MUTATE_CHILDREN) $(MUTANTS) < /dev/null > mutants/run.log 2>&1 \
		|| (tail -c 2000 mutants/run.log; exit 1)
	$(BIN)/python tools/mutation_score.py

bench: $(STAMP)
	$(BIN)/python -m compatlab.bench
