"""El vocabulario del proyecto: cada conjunto de opciones y cada límite, definidos una vez.

La API de Python y la orden ``redes`` importan de aquí los valores que aceptan, así que
aceptan exactamente los mismos; la ayuda de la CLI los explica en castellano. Este
módulo no importa Keras ni nada pesado: la CLI lo usa para construir su ayuda al
instante.

Regla de los valores: son los identificadores de la API de Python, en minúsculas y sin
tildes; los de Keras y de las bibliotecas tal cual (``"float32"``, ``"mixed_bfloat16"``,
``"onnx"``, ``"lstm"``), los propios del proyecto en castellano (``"blog"``,
``"fotos"``, ``"deportes"``) y ``"none"`` para «ninguno».
"""

from __future__ import annotations

from nucleo.errores import ArgumentError

# === Backends y precisiones ===

#: Backends de Keras que admite redes-keras, y el extra de pip que instala cada uno.
BACKENDS = ("tensorflow", "jax", "torch")
BACKEND_EXTRAS = {"tensorflow": None, "jax": "jax", "torch": "torch"}
#: Políticas de precisión del entrenamiento (políticas de Keras); ``"auto"`` elige la
#: más rápida de las otras dos en esta máquina
#: (:func:`nucleo.entorno.resolve_training_precision`).
TRAINING_PRECISIONS = ("auto", "float32", "mixed_bfloat16")
#: Precisión por defecto del entrenamiento, en la API y en la CLI.
DEFAULT_TRAINING_PRECISION = "auto"
#: Precisiones de cálculo de un motor de inferencia (no son políticas de Keras: OpenVINO
#: calcula en bfloat16 con un modelo float32).
ENGINE_PRECISIONS = ("float32", "bfloat16")
#: ``--dispositivos todos``: datos en paralelo en todos los dispositivos de este proceso.
ALL_DEVICES = "todos"

# === Inferencia y exportación ===

#: Motores de inferencia (``--motor``): ``auto`` mide los instalados con cada modelo.
ENGINES = ("auto", "keras", "onnx", "openvino", "litert")
#: Formatos de exportación (``--formato``).
EXPORT_FORMATS = ("saved_model", "onnx", "openvino", "litert")

# === Tareas ===

#: Las tareas de ``redes TAREA MODO`` (paquetes o módulos de ``tareas``).
TASKS = ("xor", "clasificacion", "pronostico", "traduccion", "deteccion")
#: Los modos que tienen todas las tareas, con el mismo verbo en todas.
MODES = ("entrenar", "evaluar", "predecir", "exportar")
#: Los modos propios de algunas tareas.
EXTRA_MODES = {"pronostico": ("comparar",), "traduccion": ("atencion",),
               "deteccion": ("anclas", "revisar")}
#: Las órdenes generales de ``redes``, que no pertenecen a una tarea.
GENERAL_COMMANDS = ("demo", "servir", "datos", "pesos")
#: Conjuntos públicos que ``redes datos descargar`` sabe traer (solo cuando se pide).
DATASETS = ("ventas",)

# === Clasificación de imágenes ===

#: Modelos de ``redes clasificacion entrenar --modelo`` (los presets de
#: ``tareas.clasificacion.ClassifierConfig``).
CLASSIFIER_MODELS = ("deportes", "cifar", "mlp", "mobilenetv2")
#: Particiones que se evalúan: todas las imágenes o la de prueba del entrenamiento.
SPLITS = ("all", "test")
#: Lado máximo de una imagen redimensionada (píxeles) y clases como máximo.
MAX_IMAGE_SIDE = 4096
#: Profundidad máxima de listas y diccionarios anidados en un JSON leído de un archivo
#: (atributos de un .h5, ``modelo.json`` de una exportación).
MAX_JSON_DEPTH = 64
MAX_CLASSES = 100_000

# === Pronóstico de ventas ===

#: Variantes de los perceptrones del blog.
SALES_MLP_VARIANTS = ("st1", "stmv", "ste")
#: Redes recurrentes de ventas: nombre en la CLI → celda de Keras.
SALES_RNN_MODELS = {"lstm": "lstm", "gru": "gru", "rnn": "simple"}
#: Celdas recurrentes de ``build_sales_rnn``.
SALES_RNN_CELLS = ("lstm", "gru", "simple")
#: Retardos como máximo (días anteriores que ve la red).
MAX_LAGS = 365
#: Tasa de aprendizaje como máximo (la misma en todos los entrenadores).
MAX_LEARNING_RATE = 10.0
#: Días que se pronostican como máximo en la CLI y la API (diez años: un pronóstico
#: recursivo tan largo ya solo repite el patrón semanal).
MAX_FORECAST_DAYS = 3650
#: En una petición al servicio, que comparte la máquina con otros clientes: un año de
#: pronóstico y diez de historia como mucho.
SERVICE_MAX_FORECAST_DAYS = 366
MAX_HISTORY_DAYS = 3660
#: Muchas series (``--columna-serie``): qué hacer con los días que faltan en una serie
#: (``--huecos``): rechazar el CSV o rellenarlos con 0 unidades.
SALES_GAP_POLICIES = ("rechazar", "rellenar")
#: Redes del modelo global de muchas series (``--modelo`` con ``--columna-serie``).
SALES_GLOBAL_MODELS = ("ste", "lstm", "gru")
#: Horizonte del modelo global como máximo (días que pronostica de una vez).
MAX_HORIZON = 366
#: Niveles de los intervalos de predicción (``--intervalos 80 95``): enteros de 1 a 99.
MAX_INTERVAL_LEVEL = 99

# === Traducción ===

#: Arquitecturas del traductor (una sola tarea: la arquitectura es una opción).
TRANSLATION_ARCHITECTURES = ("transformer", "lstm", "gru")
#: Atención de un seq2seq recurrente.
ATTENTIONS = ("bahdanau", "luong", "none")
#: Caracteres como máximo de una frase que se traduce en el servicio.
MAX_TEXT_CHARS = 500

# === Detección (YOLOv2) ===

#: Pesos preentrenados que ``redes pesos descargar`` baja cuando se le pide, y su carpeta
#: por defecto.
PRETRAINED_DOWNLOADS = ("mobilenetv2",)
PRETRAINED_DIR = "pesos/imagenet"
#: Extractores de darknet (``modelos.yolo.darknet``).
DARKNET_BACKBONES = ("darknet19", "tiny")
#: Extractores de YOLOv2: los de darknet y la MobileNetV2 de ImageNet
#: (``modelos.mobilenet``).
BACKBONES = (*DARKNET_BACKBONES, "mobilenetv2")
#: Recetas (preajustes) de ``redes deteccion entrenar --receta``.
YOLO_RECIPES = ("blog", "fotos")
#: Términos de la pérdida de cajas y de la de objeto.
BOX_LOSSES = ("darknet", "giou", "ciou")
OBJECTNESS_LOSSES = ("logistic", "squared")
#: Paso de la rejilla de YOLOv2 (cinco max-pools de paso 2): el lado de la entrada es
#: múltiplo de 32.
YOLO_STRIDE = 32

# === Conjuntos de detección ===

#: Formatos de anotación de un conjunto de detección (``--formato-datos`` de los datos de
#: ``redes deteccion`` y ``--a`` de ``redes datos convertir``): Pascal-VOC (un XML por
#: imagen), YOLO-txt de Ultralytics (``data.yaml`` + ``labels/*.txt``) y COCO (un JSON).
DATASET_FORMATS = ("voc", "yolo", "coco")
#: Particiones de un conjunto que las tenga (``--particion``).
DATASET_SPLITS = ("train", "val", "test")
#: Tamaños máximos de lo que se lee de un conjunto que puede venir de cualquier parte:
#: ``data.yaml`` de YOLO, una etiqueta ``.txt`` de YOLO y el JSON de COCO (el de
#: ``instances_train2017.json`` ocupa 448 MB), y la profundidad del JSON (COCO anida 5).
MAX_DATA_YAML_BYTES = 1 << 20
MAX_YOLO_LABEL_BYTES = 16 << 20
MAX_COCO_JSON_BYTES = 2 << 30
MAX_COCO_JSON_DEPTH = 10

# === Servicio HTTP ===

#: Valores por defecto de ``redes servir``.
SERVICE_MAX_MB = 10.0
SERVICE_MAX_PIXELS = 40_000_000
SERVICE_BATCH_REQUESTS = 8
#: Series como mucho en una petición de muchas series a ``/ventas/pronostico``.
SERVICE_MAX_SERIES = 1000

# === Textos de ayuda comunes ===

PRECISION_HELP = ("precisión del entrenamiento: auto (por defecto) elige mixed_bfloat16 "
                  "donde la CPU calcula en bfloat16 de forma nativa (AVX-512 BF16 o AMX) o "
                  "hay una GPU, y float32 en las demás; float32; o mixed_bfloat16, mucho "
                  "más lenta en una CPU sin bfloat16 nativo")
ENGINE_HELP = ("motor de inferencia: keras (por defecto), onnx (ONNX Runtime), openvino, "
               "litert, o auto (el más rápido de los instalados para ese modelo: lo mide la "
               "primera vez y lo recuerda). Con pesos .h5 y otro motor "
               "que keras, la primera vez exporta el modelo a una caché; --pesos admite "
               "también la carpeta de «redes TAREA exportar»")


def check_choice(value, name: str, allowed, *, where: str | None = None):
    """Devuelve ``value`` si está en ``allowed``; si no, un error que nombra ``name``.

    Raises:
        ArgumentError: con los valores posibles y el recibido.
    """
    if value not in allowed:
        shown = ", ".join(repr(option) for option in allowed)
        prefix = f"{where}: " if where else ""
        raise ArgumentError(f"{prefix}«{name}» debe ser uno de {shown}; recibido {value!r}.")
    return value


def check_devices(value, *, where: str | None = None) -> int | str | None:
    """Los dispositivos de un entrenamiento (``--dispositivos``): ``None`` (uno, el
    predeterminado del backend), un entero ≥ 1 o ``"todos"``; devuelve el valor validado.

    Raises:
        ArgumentError: con los valores posibles y el recibido.
    """
    if value is None or value == ALL_DEVICES:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        prefix = f"{where}: " if where else ""
        raise ArgumentError(f"{prefix}«devices» debe ser un entero ≥ 1 o {ALL_DEVICES!r}; "
                            f"recibido {value!r}.")
    return value
