# The two commands: `make run` and `make test`. Both install what is missing first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
APT_PACKAGES := tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng fonts-wqy-zenhei maven

.PHONY: run test lint system-deps bench clean

run: system-deps $(INSTALLED)
	$(BIN)/partner-archive run

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

# Tesseract with Chinese, a CJK font for the test fixtures, Maven to fetch Elasticsearch.
system-deps:
	@missing=""; \
	command -v tesseract >/dev/null && tesseract --list-langs 2>/dev/null | grep -qx chi_sim \
		|| missing="$$missing tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng"; \
	fc-list 2>/dev/null | grep -qi wqy || missing="$$missing fonts-wqy-zenhei"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

bench: system-deps $(INSTALLED)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
