"""``redes servir`` bajo carga, frente a ``detect_batch`` sin servidor, en una sola ejecución.

1. Guarda tres modelos (pesos aleatorios con semilla: la velocidad no depende de lo
   entrenados que estén): YOLOv2 tiny y YOLOv2 completo (Darknet-19) a 416×416 con 20
   clases, y el MLP de ventas STE con su escalador.
2. **Sin servidor**: ``detect_batch`` con lotes de 8 fotos JPEG ya decodificadas de
   640×480 (redimensionar + red + decodificación + NMS), la mejor de varias rondas.
3. **Con servidor**: arranca ``redes servir`` con los tres (un proceso aparte, en
   127.0.0.1, lotes de hasta 8) y lo ataca con 1, 4 y 16 clientes a la vez, cada uno
   enviando peticiones seguidas (la foto JPEG en multipart, o 60 días de ventas en JSON)
   hasta que se completa el número de peticiones o se acaba el tiempo de la fase.
   Cuenta peticiones por segundo, latencias p50/p95/p99 y errores (todo lo que no es 200).
4. Para el servidor con SIGTERM y comprueba que sale con código 0.

El objetivo: con 16 clientes, ≥ 0,8× las imágenes por segundo de ``detect_batch`` con
lotes de 8, sin errores.

Uso: ``python bench/servicio.py [--rapido] [--clientes 1 4 16] [--peticiones 48]
[--segundos 40] [--motor keras] [--json salida.json]``
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

LABELS = [f"clase{i}" for i in range(20)]
PHOTO = (480, 640)


def save_models(folder: Path) -> dict[str, Path]:
    import keras

    import modelos
    from datos.ventas import MinMaxScaler, make_sales_series
    from tareas.ventas.comun import TASK

    keras.utils.set_random_seed(0)
    paths = {name: modelos.save(modelos.build_yolo(LABELS, input_size=416, backbone=backbone),
                                folder / f"{name}.h5")
             for name, backbone in (("tiny", "tiny"), ("completo", "darknet19"))}
    series = make_sales_series(days=400, seed=0)
    paths["ventas"] = modelos.save(
        modelos.build_sales_mlp("ste"), folder / "ventas.h5",
        metadata={"tarea": TASK, "escalador": MinMaxScaler().fit(series.values).to_json()})
    return paths


def photo_jpeg(seed: int = 0) -> bytes:
    """Una «foto» JPEG de 640×480: degradados y formas con ruido (comprime como una foto)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:PHOTO[0], 0:PHOTO[1]]
    base = np.stack([x * 255 / PHOTO[1], y * 255 / PHOTO[0], (x + y) % 256], axis=-1)
    noisy = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(noisy)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.integers(0, 500), rng.integers(0, 360)
        draw.ellipse((x0, y0, x0 + 120, y0 + 100), fill=tuple(int(v) for v in
                                                              rng.integers(0, 256, 3)))
    with io.BytesIO() as handle:
        image.save(handle, format="JPEG", quality=90)
        return handle.getvalue()


def offline_rate(path: Path, engine: str, jpeg: bytes, rounds: int) -> float:
    """Imágenes por segundo de ``detect_batch`` con lotes de 8 (la mejor ronda)."""
    from datos.imagenes import decode_image_bytes
    from inferencia.motores import load_engine
    from modelos.yolo.decodificacion import detect_batch

    model = load_engine(path, engine)
    images = [decode_image_bytes(jpeg, where="foto")] * 8
    detect_batch(model, images)
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        detect_batch(model, images)
        best = max(best, 8 / (time.perf_counter() - start))
    return best


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(paths: dict[str, Path], engine: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "cli.principal", "servir", "--puerto", str(port),
               "--motor", engine, "--lote", "8"]
    for name, path in paths.items():
        command += ["--pesos", f"{name}={path}"]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    import httpx

    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"redes servir no arrancó:\n{process.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/salud", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("redes servir no respondió en 10 minutos")


async def load(url: str, clients: int, requests: int, seconds: float, send) -> dict:
    """``clients`` clientes a la vez hasta ``requests`` peticiones o ``seconds`` segundos."""
    import httpx

    latencies, errors, issued = [], 0, 0
    stop = time.monotonic() + seconds

    async def client(session):
        nonlocal errors, issued
        while issued < requests and time.monotonic() < stop:
            issued += 1
            start = time.perf_counter()
            try:
                response = await send(session)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as session:
        begin = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.perf_counter() - begin
    ms = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {"clientes": clients, "peticiones": len(latencies), "errores": errors,
            "por_segundo": len(latencies) / elapsed, "p50_ms": float(np.percentile(ms, 50)),
            "p95_ms": float(np.percentile(ms, 95)), "p99_ms": float(np.percentile(ms, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rapido", action="store_true", help="pocas peticiones (comprobación)")
    parser.add_argument("--clientes", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--peticiones", type=int, default=48,
                        help="peticiones como mucho por fase (por defecto 48)")
    parser.add_argument("--segundos", type=float, default=40.0,
                        help="segundos como mucho por fase (por defecto 40)")
    parser.add_argument("--rondas", type=int, default=3)
    parser.add_argument("--motor", default="keras", help="motor de redes servir y del par")
    parser.add_argument("--json", type=Path, default=None, help="escribe aquí las cifras")
    args = parser.parse_args()
    if args.rapido:
        args.peticiones, args.segundos, args.rondas = 16, 15.0, 1
    jpeg = photo_jpeg()
    results = {"motor": args.motor, "cpus": os.cpu_count(), "sin_servidor": {}, "servidor": {}}
    with tempfile.TemporaryDirectory(prefix="bench-servicio-") as tmp:
        paths = save_models(Path(tmp))
        for name in ("tiny", "completo"):
            rate = offline_rate(paths[name], args.motor, jpeg, args.rondas)
            results["sin_servidor"][name] = rate
            print(f"detect_batch sin servidor, YOLOv2 {name}, lotes de 8: {rate:.2f} img/s",
                  flush=True)
        port = free_port()
        server = start_server(paths, args.motor, port)
        url = f"http://127.0.0.1:{port}"
        body = {"fechas": [f"2018-{1 + d // 28:02d}-{1 + d % 28:02d}" for d in range(60)],
                "unidades": [float(150 + (d * 37) % 90) for d in range(60)], "dias": 7}
        routes = {
            "tiny": lambda s: s.post("/detectar", params={"modelo": "tiny"},
                                     files={"imagen": ("foto.jpg", jpeg, "image/jpeg")}),
            "completo": lambda s: s.post("/detectar", params={"modelo": "completo"},
                                         files={"imagen": ("foto.jpg", jpeg, "image/jpeg")}),
            "ventas": lambda s: s.post("/ventas/pronostico", json=body),
        }
        try:
            for name, send in routes.items():
                rows = []
                for clients in args.clientes:
                    requests = max(args.peticiones, 2 * clients)
                    if name == "ventas":
                        requests *= 4   # mucho más rápidas
                    rows.append(asyncio.run(load(url, clients, requests, args.segundos, send)))
                    row = rows[-1]
                    print(f"/{'detectar ' + name if name != 'ventas' else 'ventas/pronostico'}"
                          f" con {clients:2d} clientes: {row['por_segundo']:7.2f} pet/s  "
                          f"p50 {row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  "
                          f"p99 {row['p99_ms']:7.1f} ms  errores {row['errores']}", flush=True)
                results["servidor"][name] = rows
        finally:
            server.send_signal(signal.SIGTERM)
            code = server.wait(120)
    results["salida_del_servidor"] = code
    print(f"\nredes servir paró con SIGTERM y salió con código {code}.")
    print("\n| modelo | sin servidor (lotes de 8) | servidor, 16 clientes | cociente | errores |")
    print("|---|---:|---:|---:|---:|")
    for name in ("tiny", "completo"):
        most = max(results["servidor"][name], key=lambda row: row["clientes"])
        ratio = most["por_segundo"] / results["sin_servidor"][name]
        results.setdefault("cociente", {})[name] = ratio
        print(f"| YOLOv2 {name} | {results['sin_servidor'][name]:.2f} img/s | "
              f"{most['por_segundo']:.2f} pet/s ({most['clientes']} clientes) | {ratio:.2f}× | "
              f"{most['errores']} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
