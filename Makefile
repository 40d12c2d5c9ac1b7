# compatlab: `make simulate` runs the experiment locally; `make test` checks everything.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= results

.PHONY: install simulate generate test lint typecheck bench lock clean

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
	rm -rf $(VENV) $(OUT) build *.egg-info

bench: $(STAMP)
	$(BIN)/python -m compatlab.bench
