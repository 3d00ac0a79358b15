# The two commands: `make run` and `make test`. Both install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint system-deps bench-deps bench clean

# The embedded default is for one person on one machine: the development sign-in is on.
run: system-deps $(INSTALLED)
	PARTNER_ARCHIVE_WEB_DEV_LOGIN=$${PARTNER_ARCHIVE_WEB_DEV_LOGIN:-true} $(BIN)/partner-archive run

test: system-deps $(INSTALLED) lint
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/lint-imports
	$(BIN)/ruff check .

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres,redis]'
	touch $@

# Tesseract with Chinese and its orientation data (osd, a Recommends that --no-install-recommends
# leaves out), a CJK font for the test fixtures, Maven to fetch Elasticsearch,
# Chromium for the browser tests, PostgreSQL and Redis for the scaled-out configuration's test,
# ClamAV's scanner for the virus check (the tests give it their own signature; none is downloaded).
system-deps:
	@missing=""; \
	command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx chi_sim \
		|| missing="$$missing tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng"; \
	tesseract --list-langs 2>/dev/null | grep -qx osd || missing="$$missing tesseract-ocr-osd"; \
	fc-list 2>/dev/null | grep -qi wqy || missing="$$missing fonts-wqy-zenhei"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	test -x /usr/lib/postgresql/15/bin/initdb || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v clamscan >/dev/null || missing="$$missing clamav"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# OCRmyPDF is only the benchmark's peer (what Paperless-ngx runs), not a dependency of the service.
bench-deps:
	@missing=""; \
	command -v ocrmypdf >/dev/null || missing="$$missing ocrmypdf"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Measurements against same-run references; BENCH_ARGS=--quick for a short iteration.
bench: system-deps bench-deps $(INSTALLED)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
