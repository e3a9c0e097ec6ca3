"""La configuración de los entrenadores (tareas.configuracion y una clase por tarea).

Ida y vuelta por ``configuracion.json``, cada entrada mala como un error que nombra el
archivo y la clave, los presets, lo que se da en la línea de órdenes y volver a entrenar
desde el archivo de una ejecución con las mismas cifras.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest

from nucleo.errores import ArgumentError
from nucleo.errores import DataError
from tareas.clasificacion.configuracion import ClassifierConfig
from tareas.configuracion import CONFIG_NAME
from tareas.configuracion import MAX_CONFIG_BYTES
from tareas.configuracion import field_options
from tareas.configuracion import load_config
from tareas.configuracion import overrides_from_args
from tareas.configuracion import save_config
from tareas.deteccion.configuracion import DetectionConfig
from tareas.traduccion.configuracion import DEMO_CONFIG
from tareas.traduccion.configuracion import TranslationConfig
from tareas.ventas.configuracion import SalesConfig
from tareas.ventas.global_configuracion import GlobalSalesConfig
from tareas.xor import XorConfig

CLASSES = (XorConfig, ClassifierConfig, SalesConfig, GlobalSalesConfig, TranslationConfig,
           DetectionConfig)


def _every_config():
    """Una configuración de cada clase y cada preset, con algún valor no trivial."""
    yield XorConfig(epochs=5, run_dir=Path("x"))
    for name in ClassifierConfig.PRESETS:
        yield ClassifierConfig.preset(name).replace(directory="imagenes", patience=2,
                                                    minutes=0.5)
    yield SalesConfig(csv="ventas.csv", variant="ste", blog_ste=True, date_column=0,
                      value_column="unidades", patience=3, minutes=2.0,
                      precision="mixed_bfloat16")
    yield GlobalSalesConfig(csv="largo.csv", series_columns=("tienda", "producto"),
                            future_covariates=("precio", "festivo"),
                            past_covariates=("temperatura",), gaps="rellenar", levels=(90,),
                            horizon=14, variant="gru", validation=0, calibration=21,
                            patience=2, date_column="dia")
    yield TranslationConfig(architecture="lstm", n_train=None, minutes=1.5,
                            learning_rate=0.002, patience=4)
    yield DEMO_CONFIG
    for name in DetectionConfig.PRESETS:
        yield DetectionConfig.preset(name).replace(
            labels=["lego"], anchors=[[0.5, 0.5], [1.0, 2.0]], input_size=320)


# === Ida y vuelta ===

@pytest.mark.neutral
@pytest.mark.parametrize("config", list(_every_config()), ids=lambda c: type(c).__name__)
def test_round_trip_keeps_every_value(config, tmp_path):
    path = save_config(config, tmp_path)
    assert path == tmp_path / CONFIG_NAME
    assert load_config(type(config), path) == config
    assert load_config(type(config), tmp_path) == config  # también la carpeta


@pytest.mark.neutral
def test_the_file_is_readable_complete_and_keyed_by_option(tmp_path):
    save_config(DetectionConfig(), tmp_path, resolved={"precision_usada": "float32"})
    text = (tmp_path / CONFIG_NAME).read_text(encoding="utf-8")
    data = json.loads(text)
    # Las claves son las opciones sin guiones, y están todas (también los valores por
    # defecto), más la tarea y la precisión ya resuelta.
    assert data["epocas"] is None and data["epocas_calentamiento"] == 3  # None: la receta
    assert data["tamanio"] == [416, 416] and data["max_cajas"] is None  # de los datos
    expected = {option.lstrip("-").replace("-", "_")
                for option in field_options(DetectionConfig).values()}
    assert set(data) == expected | {"tarea", "precision_usada"}
    assert data["tarea"] == "deteccion" and data["precision"] == "auto"
    assert data["precision_usada"] == "float32"
    assert '  "epocas": null,\n' in text and '"tamanio": [416, 416]' in text  # una por línea
    with pytest.raises(ArgumentError, match="no es una clave resuelta"):
        save_config(XorConfig(), tmp_path, resolved={"otra": 1})


@pytest.mark.neutral
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_each_field_has_its_own_option(cls):
    options = list(field_options(cls).values())
    assert len(options) == len(set(options))
    assert all(option.startswith("--") for option in options)


# === Entradas malas: un error que nombra el archivo y la clave ===

@pytest.mark.neutral
@pytest.mark.parametrize("content, error, message", [
    ({"epocas": "muchas"}, ArgumentError, r"«epocas» debe ser un entero; recibido 'muchas'"),
    ({"epocas": 0}, ArgumentError, r"«epocas» debe ser un entero ≥ 1; recibido 0"),
    ({"epocas": 2.5}, ArgumentError, r"«epocas» debe ser un entero"),
    ({"epocas": True}, ArgumentError, r"«epocas» debe ser un entero; recibido True"),
    ({"precision": "float16"}, ArgumentError, r"«precision» debe ser uno de 'auto'"),
    ({"salida": ""}, ArgumentError, r"«salida» debe ser una ruta"),
    ({"semilla": None}, ArgumentError, r"«semilla» debe ser un entero; recibido None"),
    ({"epocs": 3}, ArgumentError, r"la clave 'epocs' no es de la configuración de «xor»; "
                                  r"las claves son: epocas, semilla, salida, precision"),
    ({"tarea": "deteccion"}, DataError, r"es la configuración de la tarea 'deteccion'"),
    ([1, 2], DataError, r"se esperaba un objeto JSON"),
])
def test_bad_values_name_the_file_and_the_key(tmp_path, content, error, message):
    path = tmp_path / "mala.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(error, match=message) as info:
        load_config(XorConfig, path)
    assert str(path) in str(info.value)


@pytest.mark.neutral
def test_unreadable_files_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="No existe el archivo JSON"):
        load_config(XorConfig, tmp_path / "no_existe.json")
    broken = tmp_path / "rota.json"
    broken.write_text('{"epocas": 3', encoding="utf-8")
    with pytest.raises(DataError, match="rota.json.*no es JSON válido"):
        load_config(XorConfig, broken)
    huge = tmp_path / "enorme.json"
    huge.write_text('{"epocas": 3, "x": "' + "a" * MAX_CONFIG_BYTES + '"}', encoding="utf-8")
    with pytest.raises(DataError, match="enorme.json.*ocupa más de"):
        load_config(XorConfig, huge)
    deep = tmp_path / "honda.json"
    deep.write_text('{"epocas": ' + "[" * 50 + "]" * 50 + "}", encoding="utf-8")
    with pytest.raises(DataError, match="honda.json.*anida más de 8 niveles"):
        load_config(XorConfig, deep)
    deeper = tmp_path / "abismo.json"
    deeper.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(DataError, match="abismo.json"):
        load_config(XorConfig, deeper)


@pytest.mark.neutral
def test_what_ties_several_fields_is_checked_on_load_too(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"tarea": "pronostico", "modelo": "st1", "blog": True}))
    with pytest.raises(ArgumentError, match=r"c\.json.*solo existe para variant='ste'"):
        load_config(SalesConfig, path)
    path.write_text(json.dumps({"tarea": "deteccion", "congelar": 7, "epocas": 7}))
    with pytest.raises(ArgumentError, match=r"«freeze_epochs» \(--congelar, 7\) debe ser menor"):
        load_config(DetectionConfig, path)


@pytest.mark.neutral
def test_missing_keys_take_the_preset_named_in_the_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"tarea": "deteccion", "receta": "fotos", "epocas": 2}))
    assert load_config(DetectionConfig, path) == DetectionConfig.preset("fotos").replace(epochs=2)
    path.write_text(json.dumps({"tarea": "clasificacion", "modelo": "mlp"}))
    assert load_config(ClassifierConfig, path) == ClassifierConfig.preset("mlp")


# === Valores en Python: replace, tipos e inmutabilidad ===

@pytest.mark.neutral
@pytest.mark.parametrize("cls, fields, message", [
    (XorConfig, {"epochs": 0}, r"XorConfig: «epochs \(--epocas\)» debe ser un entero ≥ 1"),
    (XorConfig, {"epocas": 3}, r"no hay ningún campo «epocas»; los campos son: epochs"),
    (ClassifierConfig, {"image_size": (8,)}, r"«image_size \(--tamanio\)» debe ser una lista "
                                             r"de 2 enteros"),
    (ClassifierConfig, {"learning_rate": 0.0}, r"«learning_rate \(--tasa\)» debe ser un número "
                                               r"en \(0.0, 10.0\]"),
    (ClassifierConfig, {"augment_settings": {"flip": "no"}}, None),
    (ClassifierConfig, {"augment_settings": {"flip": [1, {}]}}, r"«augment_settings"),
    (SalesConfig, {"variant": "arima"}, r"«variant \(--modelo\)» debe ser uno de 'st1'"),
    (TranslationConfig, {"dropout": 1.0}, r"«dropout \(--dropout\)» debe ser un número en "
                                          r"\[0.0, 1.0\)"),
    (DetectionConfig, {"input_size": 100}, r"«input_size \(--tamanio\)» debe ser múltiplo de 32"),
    (DetectionConfig, {"anchors": [1.0, 2.0, 3.0]}, r"«anchors \(--anclas\)» debe tener pares"),
    (DetectionConfig, {"anchors": "kmeans"}, r"«anchors \(--anclas\)» debe ser «voc», «auto»"),
])
def test_replace_checks_types_and_ranges(cls, fields, message):
    if message is None:  # un texto en los ajustes de imgaug es un valor JSON válido
        assert cls().replace(**fields).augment_settings == fields["augment_settings"]
        return
    with pytest.raises(ArgumentError, match=message):
        cls().replace(**fields)


@pytest.mark.neutral
def test_configs_are_immutable_and_normalised():
    config = DetectionConfig(labels=["a", "b"], input_size=320, ann_dir="anotaciones",
                             anchors=[[1, 2], [3, 4]])
    assert config.labels == ("a", "b") and config.input_size == (320, 320)
    assert config.ann_dir == Path("anotaciones") and config.anchors == (1.0, 2.0, 3.0, 4.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    fotos = DetectionConfig.preset("fotos")
    with pytest.raises(TypeError):
        fotos.augment_settings["hue"] = (0, 0)  # el preset no se puede estropear
    assert fotos.augment_settings["scale"] == (0.6, 1.4)  # una tupla: un rango para imgaug
    assert XorConfig().replace() == XorConfig()


# === Presets ===

@pytest.mark.neutral
def test_presets_are_typed_configs_with_the_blog_values():
    assert ClassifierConfig.preset() == ClassifierConfig.preset("deportes") == ClassifierConfig()
    mlp = ClassifierConfig.preset("mlp")
    assert (mlp.model, mlp.image_size, mlp.channels, mlp.epochs, mlp.batch_size) == (
        "mlp", (28, 28), 1, 3, 128)
    assert mlp.flatten and not ClassifierConfig.preset("cifar").flatten
    blog, fotos = DetectionConfig.preset("blog"), DetectionConfig.preset("fotos")
    assert blog == DetectionConfig() and blog.recipe == "blog" and not blog.multiscale
    assert blog.monitor == "val_loss" and blog.ema_momentum is None and not blog.augment_settings
    assert fotos.recipe == "fotos" and fotos.multiscale and fotos.monitor == "val_map_50"
    assert fotos.ema_momentum == 0.99 and not fotos.early_stop_with_time_limit
    assert fotos.box_loss == blog.box_loss == "darknet"
    assert fotos.replace(minutes=10).patience_used is None
    assert blog.replace(minutes=10).patience_used == 3
    assert XorConfig.preset() == XorConfig()
    with pytest.raises(ArgumentError, match=r"«recipe \(--receta\)» debe ser uno de 'blog', "
                                            r"'fotos'; recibido 'rapida'"):
        DetectionConfig.preset("rapida")
    with pytest.raises(ArgumentError, match="no tiene configuraciones con nombre"):
        XorConfig.preset("blog")


@pytest.mark.neutral
def test_build_starts_from_the_preset_the_overrides_name():
    assert ClassifierConfig.build(model="mlp", epochs=1) == ClassifierConfig.preset(
        "mlp").replace(epochs=1)
    assert DetectionConfig.build(recipe="fotos").multiscale
    start = XorConfig(epochs=3)
    assert XorConfig.build(start) is start
    assert XorConfig.build(start, seed=2) == XorConfig(epochs=3, seed=2)
    with pytest.raises(ArgumentError, match="«config» debe ser una XorConfig"):
        XorConfig.build(SalesConfig())
    with pytest.raises(ArgumentError, match=r"«augment \(--aumento\)» necesita un modelo "
                                            "convolucional"):
        ClassifierConfig.build(model="mlp", augment=True)


# === La línea de órdenes ===

@pytest.mark.neutral
def test_overrides_are_the_options_given_on_the_command_line():
    args = argparse.Namespace(epocas=3, lote=None, paciencia=0, epocas_calentamiento=0,
                              anclas=None, salida="corrida", json="x.json", receta="fotos")
    overrides = overrides_from_args(DetectionConfig, args)
    # None es «no se dio»; --paciencia 0 es «sin parada»; --epocas-calentamiento 0 es 0;
    # lo que no es un campo (--json) no cuenta.
    assert overrides == {"run_dir": "corrida", "recipe": "fotos", "epochs": 3,
                         "warmup_epochs": 0, "patience": None}
    config = DetectionConfig.build(**overrides)
    assert config.multiscale and config.patience is None and config.run_dir == Path("corrida")
    args = argparse.Namespace(frases_entrenamiento=0, lotes_por_epoca=0, pasos_calentamiento=7)
    assert overrides_from_args(TranslationConfig, args) == {
        "n_train": None, "steps_per_epoch": None, "warmup_steps": 7}


# === Volver a entrenar desde el archivo ===

def test_training_again_from_the_saved_file_gives_the_same_run(tmp_path):
    from tareas.xor import train_xor

    first = train_xor(epochs=30, seed=4, run_dir=tmp_path / "a")
    saved = first.file("configuracion")
    assert saved == tmp_path / "a" / CONFIG_NAME
    config = load_config(XorConfig, saved)
    assert config == XorConfig(epochs=30, seed=4, run_dir=tmp_path / "a")
    again = train_xor(config.replace(run_dir=tmp_path / "b"))
    assert load_config(XorConfig, tmp_path / "b") == config.replace(run_dir=tmp_path / "b")
    assert again.metrics["loss"] == first.metrics["loss"]
    assert again.metrics["binary_accuracy"] == first.metrics["binary_accuracy"]
    assert again.history["loss"] == first.history["loss"]


def test_sales_run_saves_its_resolved_folder_and_trains_again_the_same(tmp_path):
    from datos.ventas import make_sales_series
    from datos.ventas import write_sales_csv
    from tareas.ventas import train_sales

    csv = write_sales_csv(make_sales_series(days=120, seed=3), tmp_path / "ventas.csv")
    first = train_sales(csv=csv, variant="st1", epochs=2, validation=10,
                        run_dir=tmp_path / "a")
    config = load_config(SalesConfig, tmp_path / "a")
    assert config.run_dir == tmp_path / "a" and config.csv == csv and config.epochs == 2
    again = train_sales(config.replace(run_dir=tmp_path / "b"))
    for key in ("loss", "val_loss", "val_mae_unidades"):
        assert again.metrics[key] == first.metrics[key]
    # Sin --salida, la carpeta resuelta (pesos/ventas_<modelo>) es la que queda escrita.
    assert SalesConfig(variant="ste", blog_ste=True).resolved_run_dir() == Path(
        "pesos/ventas_ste_blog")
