# Two commands: `make demo` runs the main job, `make test` runs the checks (ruff, mypy, lint-imports) and the tests.
# Each creates .venv when missing and installs the project into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the jars of the lakehouse's Spark session (thuocdo.engines.spark_jars), fetched once with Maven
JARS := .cache/jars/.fetched

.PHONY: demo test install clean bench

$(STAMP): pyproject.toml
	-@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && ! fc-list 2>/dev/null | grep -q "Liberation Serif"; then \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
		libharfbuzz-subset0 fonts-liberation2 >/dev/null; fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The local lakehouse cluster (`thuocdo cluster up`) needs Debian's PostgreSQL (the Iceberg catalog's database) and
# Maven (to fetch the Spark jars): installed when missing and running as root. The jars are cached in .cache/jars/
# (git-ignored) and fetched again only when missing.
$(JARS): $(STAMP) src/thuocdo/engines/spark_jars.py
	-@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then missing=""; \
		command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="postgresql"; \
		command -v mvn >/dev/null || missing="$$missing maven"; \
		if [ -n "$$missing" ]; then (apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 || \
			(apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null)); fi; fi
	$(BIN)/python -c "from thuocdo.engines.spark_jars import ensure_jars; ensure_jars()"
	touch $@

install: $(STAMP) $(JARS)

demo: $(STAMP)
	$(BIN)/thuocdo --home $${THUOCDO_HOME:-.thuocdo-demo} demo

# The browser tests drive Debian's chromium (never a downloaded browser); the layout tests render PDF pages with
# poppler's pdftoppm and DOCX with LibreOffice: installed here when missing.
# The tests run on two processes (pytest-xdist), each test module in one of them, the cluster's modules first
# (tests/conftest.py orders them); TEST_WORKERS=1 runs them in one.
TEST_WORKERS ?= 2
TEST_PACKAGES := chromium:/usr/bin/chromium poppler-utils:/usr/bin/pdftoppm libreoffice-writer-nogui:/usr/bin/soffice
test: $(STAMP) $(JARS)
	-@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		missing=""; for p in $(TEST_PACKAGES); do [ -x "$${p#*:}" ] || missing="$$missing $${p%%:*}"; done; \
		if [ -n "$$missing" ]; then (apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null)); fi; fi
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

bench: $(STAMP)
	$(BIN)/python -m bench.metrics

clean:
	rm -rf $(VENV) .thuocdo-demo .pytest_cache .cache
