# Inicio rápido: `make demo` y `make test` crean .venv si falta, instalan y ejecutan.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.instalado

.PHONY: install demo lint test bench clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "redes-keras necesita Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: install
	$(BIN)/redes demo

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

bench: install
	for b in clasificacion ventas aumento transformer yolo; do $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
