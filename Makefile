# Inicio rápido: `make demo` y `make test` crean .venv si falta, instalan y ejecutan.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.instalado

.PHONY: install demo test bench clean

install: $(STAMP)

# imgaug 0.4.0 arrastra opencv-python; dejamos una sola línea de OpenCV
# (opencv-python-headless 4.x): se desinstala opencv-python y se reinstala el
# headless, porque ambos escriben en el mismo paquete cv2.
$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "redes-keras necesita Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m pip uninstall --quiet --yes opencv-python
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps "opencv-python-headless>=4.10,<5"
	touch $(STAMP)

demo: install
	$(BIN)/redes demo

test: install
	$(BIN)/python -m pytest

bench: install
	for b in clasificacion ventas aumento transformer yolo; do $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
