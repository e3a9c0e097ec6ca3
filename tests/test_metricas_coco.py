"""Métricas de COCO (informes/metricas_coco.py), matriz de confusión de detección y conteos
por clase (informes/matriz_deteccion.py), y ``redes deteccion evaluar`` con todo ello."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from informes.matriz_deteccion import BACKGROUND
from informes.matriz_deteccion import detection_confusion
from informes.metricas import precision_recall_curves
from informes.metricas_coco import COCO_METRICS
from informes.metricas_coco import coco_evaluation
from informes.metricas_coco import coco_summary
from informes.metricas_coco import map_summary
from nucleo.errores import ArgumentError

#: Diferencia máxima entre la AP de VOC y la AP50 de COCO de una clase (ver
#: test_voc_ap50_and_coco_ap50_agree_within_the_interpolation_bound).
BOUND = 1 / 101 + 1e-9


def _det(*rows):
    return np.array(rows, dtype=float).reshape(-1, 6)


def _gt(*rows):
    return np.array(rows, dtype=float).reshape(-1, 5)


def _both(detections, truths, num_classes):
    """``({clase: AP de VOC a IoU 0.5}, CocoResult)`` de las mismas detecciones."""
    voc = {c: curve.ap for c, curve in
           precision_recall_curves(detections, truths, 0.5, num_classes).items()}
    return voc, coco_evaluation(detections, truths, num_classes)


def _assert_agree(voc, coco):
    for c, ap in voc.items():
        if math.isnan(ap):
            assert math.isnan(coco.ap_50[c]), c
        else:
            assert abs(ap - coco.ap_50[c]) <= BOUND, (c, ap, coco.ap_50[c])
    defined = [c for c, ap in voc.items() if not math.isnan(ap)]
    voc_map = np.mean([voc[c] for c in defined])
    assert abs(voc_map - coco.metrics["coco_ap_50"]) <= BOUND


def _random_case(seed: int):
    """Imágenes de 200×200 con hasta 6 cajas verdaderas DISJUNTAS (cada una en su celda
    de una rejilla 4×4), 3 clases, detecciones desplazadas (algunas bajo IoU 0.5), con
    otra clase, duplicadas, olvidadas y falsos positivos sueltos; puntuaciones con dos
    decimales (hay empates)."""
    rng = np.random.default_rng(seed)
    truths, detections = [], []
    for _ in range(rng.integers(3, 9)):
        cells = rng.choice(16, size=rng.integers(0, 7), replace=False)
        gts = []
        for cell in cells:
            x0, y0 = 50.0 * (cell % 4), 50.0 * (cell // 4)
            w, h = rng.uniform(15, 45, 2)
            x, y = x0 + rng.uniform(0, 50 - w), y0 + rng.uniform(0, 50 - h)
            gts.append([x, y, x + w, y + h, rng.integers(0, 3)])
        dets = []
        for x1, y1, x2, y2, label in gts:
            for _ in range(rng.choice([0, 1, 1, 1, 2])):   # olvidada, detectada o duplicada
                jitter = rng.normal(0, 0.18 * (x2 - x1), 4)
                box = np.array([x1, y1, x2, y2]) + jitter
                box[2:] = np.maximum(box[2:], box[:2] + 1)
                wrong = rng.random() < 0.15
                dets.append([*box, rng.random(), rng.integers(0, 3) if wrong else label])
        for _ in range(rng.integers(0, 4)):                    # falsos positivos sueltos
            x, y = rng.uniform(0, 170, 2)
            dets.append([x, y, x + rng.uniform(5, 30), y + rng.uniform(5, 30), rng.random(),
                         rng.integers(0, 3)])
        order = rng.permutation(len(dets))
        rows = np.array(dets, float).reshape(-1, 6)[order]
        rows[:, 4] = np.round(rows[:, 4], 2)
        truths.append(np.array(gts, float).reshape(-1, 5))
        detections.append(rows)
    return detections, truths


# === La AP50 de COCO frente a la AP de VOC ===

@pytest.mark.neutral
def test_perfect_detector_gives_one_in_both():
    truths = [_gt([0, 0, 10, 10, 0], [20, 20, 60, 50, 1]), _gt([5, 5, 15, 25, 0]), _gt()]
    detections = [np.c_[g[:, :4], np.full(len(g), 0.9), g[:, 4]] for g in truths]
    voc, coco = _both(detections, truths, 2)
    assert voc == {0: 1.0, 1: 1.0}
    assert coco.ap_50 == pytest.approx({0: 1.0, 1: 1.0}, abs=1e-12)
    for name in ("coco_map_50_95", "coco_ap_50", "coco_ap_75", "coco_ap_pequenas",
                 "coco_ar_100"):
        assert coco.metrics[name] == pytest.approx(1.0, abs=1e-12), name


HAND_MADE = {
    # El falso positivo primero: precisión 1/2 en exhaustividad 1 (0.5 en los dos).
    "falso positivo delante": ([_det([50, 50, 60, 60, 0.9, 0], [0, 0, 10, 10, 0.8, 0])],
                               [_gt([0, 0, 10, 10, 0])]),
    # Un duplicado entre dos aciertos: la envolvente cambia a mitad de la curva.
    "duplicado": ([_det([0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10.5, 0.8, 0],
                        [20, 0, 30, 10, 0.7, 0])], [_gt([0, 0, 10, 10, 0], [20, 0, 30, 10, 0])]),
    # Tres cajas, aciertos en los puestos 1, 3 y 6: escalones en 1/3 y 2/3.
    "escalones": ([_det([0, 0, 10, 10, .9, 0], [90, 90, 95, 95, .8, 0], [20, 0, 30, 10, .7, 0],
                        [90, 0, 95, 5, .6, 0], [0, 90, 5, 95, .5, 0], [40, 0, 50, 10, .4, 0])],
                  [_gt([0, 0, 10, 10, 0], [20, 0, 30, 10, 0], [40, 0, 50, 10, 0])]),
    # Otra clase, una clase sin cajas (nan en los dos) y otra sin detecciones (0).
    "clases": ([_det([0, 0, 10, 10, 0.9, 1], [30, 30, 40, 40, 0.95, 2]), _det()],
               [_gt([0, 0, 10, 10, 0]), _gt([0, 0, 10, 10, 1])]),
    # Empates de puntuación entre imágenes.
    "empates": ([_det([0, 0, 10, 10, 0.5, 0]), _det([50, 50, 60, 60, 0.5, 0]),
                 _det([0, 0, 10, 10, 0.5, 0])], [_gt([0, 0, 10, 10, 0])] * 3),
}


@pytest.mark.neutral
@pytest.mark.parametrize("case", list(HAND_MADE))
def test_hand_made_cases_agree(case):
    detections, truths = HAND_MADE[case]
    _assert_agree(*_both(detections, truths, 3))


@pytest.mark.neutral
@pytest.mark.parametrize("seed", range(12))
def test_voc_ap50_and_coco_ap50_agree_within_the_interpolation_bound(seed):
    """|AP de VOC − AP50 de COCO| ≤ 1/101 por clase (y en el mAP) con el mismo emparejamiento.

    Con las mismas parejas, las dos curvas de precisión-exhaustividad son la misma: las
    dos ordenan por puntuación con orden estable (imagen a imagen) y empatan igual. Sea
    q(r) = la mayor precisión con exhaustividad ≥ r (0 si no la hay), que no crece y está
    en [0, 1]. VOC integra AP_voc = ∫₀¹ q(r) dr; COCO promedia 101 puntos,
    AP_coco = (1/101)·Σ_{i=0..100} q(i/100) (``searchsorted`` a la izquierda sobre la
    envolvente). Con R = (1/100)·Σ_{i=1..100} q(i/100) ≤ AP_voc ≤ L = (1/100)·Σ_{i=0..99}
    q(i/100) (q no crece):

    - AP_coco − AP_voc ≤ (100·R + q(0))/101 − R = (q(0) − R)/101 ≤ 1/101;
    - AP_voc − AP_coco ≤ L − (100·L + q(1))/101 = (L − q(1))/101 ≤ 1/101.

    El mAP es la media de las mismas clases (las que tienen cajas): la misma cota. Se
    suma 1e-9 por el redondeo (COCO divide entre tp + fp + 2,2·10⁻¹⁶ y su rejilla de
    exhaustividad sale de ``linspace``).

    El emparejamiento coincide si ninguna detección alcanza IoU 0.5 con dos cajas de su
    clase en la misma imagen (ver la prueba de abajo), si ninguna imagen tiene más de
    100 detecciones de una clase (COCO se queda con las 100 mejores) y sin cajas de
    «multitud» (no las usamos). Aquí las cajas verdaderas son disjuntas: una caja no
    puede pasar de IoU 0.5 con dos cajas disjuntas (necesitaría más de la mitad de su
    área en cada una).
    """
    detections, truths = _random_case(seed)
    voc, coco = _both(detections, truths, 3)
    assert any(not math.isnan(ap) and 0 < ap < 1 for ap in voc.values())  # caso no trivial
    _assert_agree(voc, coco)


@pytest.mark.neutral
def test_coco_tries_the_next_free_box_where_voc_counts_a_false_positive():
    """Fuera de la cota: dos cajas muy solapadas y la misma caja detectada dos veces. VOC
    compara el duplicado solo con su mejor caja, ya tomada (falso positivo); COCO prueba
    con la siguiente libre, que pasa de IoU 0.5 (acierto)."""
    truths = [_gt([0, 0, 10, 10, 0], [0, 0, 10, 11, 0])]
    detections = [_det([0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10, 0.8, 0])]
    voc, coco = _both(detections, truths, 1)
    assert voc[0] == pytest.approx(0.5)
    assert coco.ap_50[0] == pytest.approx(1.0)


@pytest.mark.neutral
def test_coco_keeps_the_best_100_detections_of_an_image():
    """Fuera de la cota: 100 falsos positivos por delante dejan fuera los dos aciertos."""
    fps = [[200 + i, 200, 205 + i, 205, 0.9, 0] for i in range(100)]
    detections = [_det(*fps, [0, 0, 10, 10, 0.5, 0], [20, 0, 30, 10, 0.5, 0])]
    voc, coco = _both(detections, [_gt([0, 0, 10, 10, 0], [20, 0, 30, 10, 0])], 1)
    assert voc[0] == pytest.approx(2 / 102)
    assert coco.ap_50[0] == 0.0


# === Las otras cifras de COCO ===

@pytest.mark.neutral
def test_ap75_and_the_average_over_ious_reward_tight_boxes():
    # IoU 0.62: acierto a 0.50, 0.55 y 0.60, fallo de 0.65 a 0.95 → 3 de 10 umbrales.
    coco = coco_evaluation([_det([0, 0, 100, 62, 0.9, 0])], [_gt([0, 0, 100, 100, 0])])
    metrics = coco.metrics
    assert metrics["coco_ap_50"] == pytest.approx(1.0)
    assert metrics["coco_ap_75"] == 0.0
    assert metrics["coco_map_50_95"] == pytest.approx(0.3)
    assert metrics["coco_ar_100"] == pytest.approx(0.3)


@pytest.mark.neutral
def test_area_ranges_use_the_box_area_in_pixels():
    # 20×20 (pequeña, < 32²), 50×50 (mediana) y 120×120 (grande, > 96²); solo la grande
    # se detecta.
    truths = [_gt([0, 0, 20, 20, 0], [100, 0, 150, 50, 0], [0, 100, 120, 220, 0])]
    coco = coco_evaluation([_det([0, 100, 120, 220, 0.9, 0])], truths)
    metrics = coco.metrics
    assert (metrics["coco_ap_pequenas"], metrics["coco_ap_medianas"]) == (0.0, 0.0)
    assert metrics["coco_ap_grandes"] == pytest.approx(1.0)
    assert metrics["coco_ar_100"] == pytest.approx(1 / 3)
    # Sin objetos de un tamaño, su AP no está definida.
    only_small = coco_evaluation([_det([0, 0, 20, 20, 0.9, 0])], [_gt([0, 0, 20, 20, 0])])
    assert math.isnan(only_small.metrics["coco_ap_grandes"])
    assert set(COCO_METRICS) == set(metrics)


@pytest.mark.neutral
def test_coco_is_silent_and_summarises_in_spanish(capsys):
    coco = coco_evaluation([_det()], [_gt([0, 0, 10, 10, 0])], 2, labels=["a", "b"])
    assert capsys.readouterr().out == ""          # nada de «Running per image evaluation»
    assert coco.metrics["coco_map_50_95"] == 0.0 and math.isnan(coco.ap[1])
    lines = coco_summary(coco).splitlines()
    assert len(lines) == 12 and "Average" not in lines[0]
    assert lines[0].startswith("Precisión media (AP)") and lines[0].endswith("= 0.000")
    assert lines[5].endswith("-")                 # sin cajas grandes
    assert map_summary(0.8123, coco) == "mAP@0.5 (VOC) 0.812 · mAP@0.5:0.95 (COCO) 0.000"


@pytest.mark.neutral
def test_coco_rejects_bad_inputs():
    with pytest.raises(ArgumentError, match="coco_evaluation"):
        coco_evaluation([_det()], [_gt(), _gt()])
    with pytest.raises(ArgumentError, match="num_classes=1"):
        coco_evaluation([_det([0, 0, 1, 1, 0.5, 3])], [_gt()], 1)


# === Matriz de confusión y conteos ===

LABELS = ["a", "b"]


@pytest.mark.neutral
def test_confusion_counts_a_hit_a_false_positive_a_miss_a_swap_and_a_duplicate():
    truths = [_gt([0, 0, 10, 10, 0], [20, 0, 30, 10, 0], [40, 0, 50, 10, 1]),
              _gt([0, 0, 10, 10, 1])]
    detections = [_det([0, 0, 10, 10, 0.9, 0],        # acierto de «a»
                       [0, 0, 10, 11, 0.8, 0],        # duplicado: falso positivo de «a»
                       [40, 0, 50, 10, 0.7, 0],       # «b» detectada como «a»
                       [80, 80, 90, 90, 0.6, 1]),     # falso positivo de «b»
                  _det([0, 0, 10, 10, 0.2, 1])]       # bajo el umbral: «b» no detectada
    confusion = detection_confusion(detections, truths, LABELS)
    #                          predicha: a  b  fondo
    np.testing.assert_array_equal(confusion.matrix, [[1, 0, 1],    # real a (una sin ver)
                                                     [1, 0, 1],    # real b
                                                     [1, 1, 0]])   # fondo
    counts = confusion.counts()
    assert {k: counts["a"][k] for k in ("cajas", "aciertos", "falsos_positivos", "fallos")} \
        == {"cajas": 2, "aciertos": 1, "falsos_positivos": 2, "fallos": 1}
    assert counts["a"]["precision"] == pytest.approx(1 / 3)
    assert counts["a"]["exhaustividad"] == pytest.approx(1 / 2)
    assert counts["a"]["f1"] == pytest.approx(2 / 5)  # media armónica de 1/3 y 1/2
    assert (counts["b"]["aciertos"], counts["b"]["fallos"], counts["b"]["f1"]) == (0, 2, 0.0)
    # Con el umbral a 0.1 la «b» de la segunda imagen es un acierto.
    lower = detection_confusion(detections, truths, LABELS, score_threshold=0.1)
    assert lower.matrix[1, 1] == 1 and lower.matrix[1, 2] == 0


@pytest.mark.neutral
def test_confusion_matches_one_to_one_by_iou_like_ultralytics():
    # Dos detecciones y dos cajas: la de más IoU se empareja primero, y la otra detección
    # se queda con la otra caja aunque su mejor caja fuera la primera.
    truths = [_gt([0, 0, 10, 10, 0], [0, 0, 10, 14, 1])]
    detections = [_det([0, 0, 10, 12, 0.9, 1], [0, 0, 10, 10, 0.8, 0])]
    confusion = detection_confusion(detections, truths, LABELS)
    np.testing.assert_array_equal(confusion.matrix, [[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    # La IoU del emparejamiento: 10×10 frente a 10×25 (IoU 0.4) es un fallo a 0.5, pero
    # un cambio de clase si basta 0.4.
    far = [_det([0, 0, 10, 25, 0.9, 1])], [_gt([0, 0, 10, 10, 0])]
    assert detection_confusion(*far, LABELS).matrix.tolist() == [[0, 0, 1], [0, 0, 0],
                                                                 [0, 1, 0]]
    assert detection_confusion(*far, LABELS, iou_threshold=0.4).matrix[0, 1] == 1


@pytest.mark.neutral
def test_confusion_empty_images_and_undefined_ratios():
    confusion = detection_confusion([_det(), _det([0, 0, 5, 5, 0.9, 1])], [_gt(), _gt()],
                                    LABELS)
    assert confusion.matrix.tolist() == [[0, 0, 0], [0, 0, 0], [0, 1, 0]]
    counts = confusion.counts()
    assert all(math.isnan(counts["a"][k]) for k in ("precision", "exhaustividad", "f1"))
    assert counts["b"]["precision"] == 0.0 and math.isnan(counts["b"]["exhaustividad"])
    table = confusion.table()
    assert table.title == "Conteo por clase (puntuación ≥ 0.3, IoU ≥ 0.5)"
    assert table.rows[0][5:] == ("-", "-", "-")
    data = confusion.to_json()
    assert data["etiquetas"] == ["a", "b", BACKGROUND] and data["matriz"][2] == [0, 1, 0]
    with pytest.raises(ArgumentError, match="iou_threshold"):
        detection_confusion([_det()], [_gt()], LABELS, iou_threshold=0)


@pytest.mark.neutral
def test_confusion_png(tmp_path):
    confusion = detection_confusion([_det([0, 0, 10, 10, 0.9, 0])], [_gt([0, 0, 10, 10, 1])],
                                    LABELS)
    path = confusion.plot(tmp_path / "matriz.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


# === redes deteccion evaluar, de principio a fin ===

def test_evaluate_reports_coco_the_confusion_matrix_and_counts(trained_detector,
                                                                held_out_shapes, tmp_path,
                                                                capsys):
    from cli.principal import main
    from datos.anotaciones import read_voc

    weights, _ = trained_detector
    out = tmp_path / "evaluacion.json"
    assert main(["deteccion", "evaluar", "--pesos", str(weights),
                 "--anotaciones", str(held_out_shapes / "annotations"),
                 "--imagenes", str(held_out_shapes / "images"), "--umbral-matriz", "0.01",
                 "--salida", str(tmp_path / "informe"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    metrics = result["metricas"]
    assert set(COCO_METRICS) <= set(metrics)
    assert 0 <= metrics["coco_map_50_95"] <= metrics["coco_ap_50"] <= 1
    assert result["resumen"] in printed and "mAP@0.5:0.95 (COCO)" in result["resumen"]
    assert "Conteo por clase (puntuación ≥ 0.01, IoU ≥ 0.5)" in printed
    png = tmp_path / "informe" / "matriz_confusion.png"
    assert result["archivos"]["matriz_confusion"] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records, _ = read_voc(held_out_shapes / "annotations", held_out_shapes / "images")
    boxes = Counter(label for record in records for label in record.labels)
    counts = result["conteo_por_clase"]
    assert set(counts) == set(boxes)
    for label, count in counts.items():
        assert count["aciertos"] + count["fallos"] == count["cajas"] == boxes[label]
    # Con el umbral del mAP, cada detección está en una columna de clase de la matriz, y
    # cada caja verdadera en una fila.
    matrix = np.array(result["matriz_confusion"]["matriz"])
    assert matrix[:-1].sum() == sum(boxes.values())
    assert matrix[:, :-1].sum() == result["detecciones"] > 0
    assert result["matriz_confusion"]["umbral"] == 0.01
    assert all("0.5:0.95" in ap for ap in result["ap_por_clase"].values())
