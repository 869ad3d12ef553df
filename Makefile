# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint clean bench bench-broadcast bench-latency bench-postgres

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@# Chart labels are Chinese: install a small CJK font when none is there and we are root.
	@if ! ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei >/dev/null) \
	      || echo "warning: could not install fonts-wqy-microhei; chart labels will not render"; \
	  else \
	    echo "warning: no CJK font; as root run: apt-get install fonts-wqy-microhei"; \
	  fi; \
	fi
	touch $(STAMP)

## Our own bytecode written once: a start then reads it instead of compiling every module
## (where PYTHONDONTWRITEBYTECODE is set, nothing else writes it). Quick when up to date.
install: $(STAMP)
	@$(PY) -m compileall -q -j 0 bot handlers models settings.py

## Load the demo county and open the console chat as `member`.
demo: install
	$(PY) -m bot demo
	$(PY) -m bot console --user member

## Run every test (SQLite; set DATABASE_URL=postgresql://... to run them on PostgreSQL).
test: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

## Skip the end-to-end and slow tests while iterating.
test-fast: install
	$(PY) -m pytest -m "not e2e and not slow"

## Benchmarks (not tests): figures into BENCHMARKS.md. The broadcast takes ~5.5 min by nature.
bench: install
	$(PY) bench/breakdown.py
	$(PY) bench/dispatch.py
	$(PY) bench/startup.py
	$(PY) bench/run_search.py
	$(PY) bench/report.py

bench-broadcast: install
	$(PY) bench/broadcast.py
	$(PY) bench/report.py

## Reply latency through a real `serve` process: a 200-user burst, replies during a broadcast.
bench-latency: install
	$(PY) bench/latency.py
	$(PY) bench/report.py

bench-postgres: install
	url=$$(.ci/postgres.sh start /tmp/pg-bench 55451) && \
	  $(PY) bench/dispatch.py --database-url $$url; status=$$?; \
	  .ci/postgres.sh stop /tmp/pg-bench; \
	  [ $$status -eq 0 ] && $(PY) bench/report.py

lint: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(VENV) data/*.db data/*.db-*
