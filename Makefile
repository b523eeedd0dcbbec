# The two commands of the README: `make up` and `make test`. Both install what is missing.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
RUN := $(UV) run --frozen
# One install step whose failure names itself, shows the tool's last lines and its log.
STEP = $(RUN) python -m boleta.stack.step $(CURDIR)/.boleta/logs/$(1).log
DEMO_VOTES ?= 1000

.PHONY: up test deps install lint proto unit integration chaos down status clean webapp webapp-test

up: install webapp
	$(RUN) boleta up --demo $(DEMO_VOTES)

test: install lint webapp
	cd webapp && npm test
	scripts/unit-pythons.sh
	$(RUN) pytest --durations=15 tests/unit tests/integration tests/infra tests/e2e tests/chaos

deps:
	@infra/local/bootstrap.sh

install: deps
	@$(RUN) boleta infra install

lint: deps
	$(RUN) python scripts/gen_proto.py --check
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

unit: deps
	$(RUN) pytest tests/unit
	scripts/unit-pythons.sh

integration: install
	$(RUN) pytest tests/integration

# Faults on a private stack (own ports and state dir); CHAOS_VOTES=100000 for a soak.
CHAOS_VOTES ?= 3000
chaos: install webapp
	$(RUN) pytest tests/chaos --chaos-votes $(CHAOS_VOTES)

# The webapp is rebuilt only when its inputs change, the way make is meant to: npm ci when
# the lock file is newer than the installed tree (npm writes node_modules/.package-lock.json),
# vite when a source, the config or the installed packages are newer than the build.
WEBAPP_SOURCES := $(shell find webapp/src -type f 2>/dev/null) webapp/index.html \
	webapp/vite.config.ts webapp/tsconfig.json webapp/package.json

webapp: webapp/dist/index.html

webapp/node_modules/.package-lock.json: webapp/package-lock.json webapp/package.json
	cd webapp && $(call STEP,webapp-install) "installing the webapp's npm packages" npm ci --no-audit --no-fund
	@touch $@

webapp/dist/index.html: webapp/node_modules/.package-lock.json $(WEBAPP_SOURCES)
	cd webapp && $(call STEP,webapp-build) "building the webapp" npm run build
	@touch $@

webapp-test:
	cd webapp && npm test

proto: deps
	$(RUN) python scripts/gen_proto.py

down:
	$(RUN) boleta infra down

status:
	$(RUN) boleta infra status

clean: down
	rm -rf .boleta
