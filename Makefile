# Every target that needs the project depends on `install`, so each one works as the first
# command on a fresh machine. The virtual environment is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install compile-messages test lint demo run web messages clean

install: $(STAMP) compile-messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Compiled catalogs (.mo) are build products, never committed.
compile-messages: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy --domain messages --directory locales --statistics 2>&1 | grep -v '^$$' || true
	@$(BIN)/python -c "import sys; from pathlib import Path; missing=[str(p) for p in Path('locales').glob('*/LC_MESSAGES/messages.po') if not p.with_suffix('.mo').exists()]; sys.exit('catalogs not compiled: ' + ', '.join(missing) if missing else 0)"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Two pytest workers per core: many end-to-end tests wait (for a subprocess to start, for
# python-telegram-bot's timeout, for paced sends), and a second worker per core fills that
# time. Override with `make test TEST_WORKERS=1`.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))

test: install lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

# A local key ring (wegwijzer.keys, 0600) is made on first use: answers are stored sealed.
demo: install
	$(BIN)/wegwijzer keys new --if-missing
	$(BIN)/wegwijzer chat --as family --lang nl

# With WEB_BASE_URL set, the web view too, in the same process (see README, "Web view").
run: install
	$(BIN)/wegwijzer run $(if $(WEB_BASE_URL),--with-web)

# The web view for staff (needs WEB_BASE_URL; see README, "Web view").
web: install
	$(BIN)/wegwijzer web

# Extract every translatable text (code and flows) into locales/messages.pot and merge it into
# each language's messages.po. Translators then edit the .po files (see README, "Translating").
messages: install
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords Text --keywords Plural:1,2 --no-location --sort-output \
		--project Wegwijzer --copyright-holder "Wegwijzer contributors" \
		--output-file locales/messages.pot bot flows
	$(BIN)/pybabel update --input-file locales/messages.pot --domain messages --output-dir locales \
		--no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
	find locales -name '*.mo' -delete
