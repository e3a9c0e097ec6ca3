"""schemathesis sobre el OpenAPI de ``redes servir``: ningún 5xx y toda respuesta cumple
el esquema (código documentado, tipo de contenido y cuerpo), con entradas válidas y no
válidas generadas a partir del propio esquema."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from schemathesis.checks import not_a_server_error  # noqa: E402

#: Casos por ruta: bastan para recorrer cada campo con valores buenos y malos sin que la
#: prueba pase de unos segundos por ruta.
EXAMPLES = 25


@pytest.fixture(scope="module")
def api_schema(service_models):
    from servicio.app import Settings, create_app

    app = create_app(list(service_models[1].values()),
                     Settings(max_body_bytes=2**20, max_pixels=4_000_000))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


#: Las operaciones del esquema (una prueba comprueba que no falta ninguna).
OPERATIONS = [("GET", "/salud"), ("GET", "/modelos"), ("POST", "/detectar"),
              ("POST", "/clasificar"), ("POST", "/ventas/pronostico"),
              ("GET", "/ventas/ejemplo"), ("POST", "/traducir")]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]


def test_every_operation_is_fuzzed(api_schema):
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


# Entradas no válidas solo donde hay entradas: las rutas GET no tienen ninguna.
CASES = [(method, path, mode) for method, path in OPERATIONS
         for mode in (("positive", "negative") if method == "POST" else ("positive",))]


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_api_never_answers_5xx_and_always_matches_its_schema(api_schema, method, path, mode):
    from hypothesis import given
    from schemathesis.generation.modes import GenerationMode

    operation = api_schema[path][method]
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(checks=CHECKS)

    run()
