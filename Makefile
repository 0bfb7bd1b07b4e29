# Two commands are all a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
DATA_DIR ?= .data
export PORT DATA_DIR

.PHONY: install run test lint typecheck layers sdl sdl-check pytest bench drill bench-explore \
	browser clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The protocol conformance tests run the reference clients (graphql-http, graphql-ws) on Node,
# installed from the npm registry exactly as locked.
tests/conformance/node_modules/.installed: tests/conformance/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The explorer page's script (web/package-lock.json pins it), copied where the app serves it.
WEB_VENDOR := web/static/vendor
$(WEB_VENDOR)/.installed: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "the explorer page needs Node.js and npm" \
		"(Debian: apt-get install nodejs npm)" >&2; exit 1; }
	npm ci --prefix web --no-audit --no-fund --loglevel=error
	mkdir -p $(WEB_VENDOR)
	cp web/node_modules/cytoscape/dist/cytoscape.esm.min.mjs $(WEB_VENDOR)/
	cp web/node_modules/cytoscape/LICENSE $(WEB_VENDOR)/cytoscape.LICENSE
	touch $@

# Debian's headless Chromium and a CJK font, for the browser tests and bench/explore.py.
browser:
	.ci/ensure-browser

install: $(BIN)/.installed tests/conformance/node_modules/.installed $(WEB_VENDOR)/.installed \
	browser

# A developer's server shows GraphiQL; production (docker-compose) keeps both off by default.
run: install
	GRAPHIQL=$${GRAPHIQL:-true} INTROSPECTION=$${INTROSPECTION:-true} $(BIN)/crm serve

test: install lint typecheck layers sdl-check pytest

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy .

layers: install
	$(BIN)/lint-imports

sdl: install
	$(BIN)/crm sdl --write

sdl-check: install
	$(BIN)/crm sdl --check

pytest: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

# `make bench SCALE=1000000` also runs 100,000 accounts first and prints the growth; SCALE may
# list several scales (SCALE="10000 100000 1000000").
SCALE ?=
bench: install
	BENCH_SCALE="$(SCALE)" $(BIN)/python -m bench

# The recovery drill on BENCH_ACCOUNTS (100,000) accounts: backup under load, point-in-time
# restore, graph rebuild; prints the RTO and the RPO figures.
drill: install
	$(BIN)/python -m bench.operations_drill
# Only the /explore page's load to first drawn map (also the last part of `make bench`).
bench-explore: install
	$(BIN)/python -m bench.explore

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache web/node_modules \
		$(WEB_VENDOR) test-artifacts
