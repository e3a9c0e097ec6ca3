"""Decodificar con los Transformers ya entrenados y mirar dentro de ellos.

- :func:`translate`: búsqueda voraz (``beam_size=1``) o en haz, token a token.
- :func:`generate`: texto con un modelo de lenguaje (estilo GPT): voraz o muestreo
  con temperatura y ``top_k``, con semilla.
- :func:`attention_maps`: los pesos de atención de cada capa y cabeza.

Con ``use_cache=True`` (por defecto) cada token nuevo cuesta un paso del
decodificador: las claves y valores de los tokens anteriores quedan en una caché
``(B, H, max_len, dk)`` por capa y los de la atención cruzada se calculan una sola
vez por frase. Con ``use_cache=False`` se vuelve a ejecutar el modelo entero sobre
el prefijo en cada paso (la forma ingenua; sirve de referencia en las pruebas y en
``bench/transformer.py``). Ambas dan los mismos tokens.

Las longitudes se comprueban antes de ejecutar nada: una entrada o una salida que no
cabe en la tabla de posiciones del modelo (``max_len`` del constructor) es un
:class:`~nucleo.errores.ArgumentError` que dice cuántos tokens se recibieron y cuántos
admite el modelo.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from nucleo.keras_listo import ops

from nucleo.errores import ArgumentError
from nucleo.validacion import check_int, check_number
from modelos.compilado import compiled
from modelos.transformer.incrustaciones import PAD_ID

BOS_ID = 2
EOS_ID = 3
#: Hipótesis por frase como máximo en la búsqueda en haz: la caché crece con el haz.
MAX_BEAM = 100


# === Piezas del modelo ===

def _layer(model, name: str, where: str):
    try:
        return model.get_layer(name)
    except ValueError:
        raise ArgumentError(
            f"{where}: el modelo «{model.name}» no tiene la capa «{name}»; se esperaba un "
            "modelo de build_transformer / build_decoder_lm.") from None


class _Parts:
    """Las capas de un modelo de los constructores y sus funciones compiladas."""

    def __init__(self, model, where: str, seq2seq: bool):
        self.model = model
        self.seq2seq = seq2seq
        names = {layer.name: layer for layer in model.layers}
        self.decoder = _layer(model, "decodificador", where)
        self.target_embedding = _layer(model, "embedding_destino" if seq2seq else "embedding",
                                       where)
        if seq2seq:
            self.encoder = _layer(model, "codificador", where)
            self.source_embedding = names.get("embedding_origen", self.target_embedding)
        self.output_layer = names.get("logits")
        self.max_positions = self.target_embedding.max_len
        if seq2seq:
            self.source_positions = self.source_embedding.max_len
        attention = self.decoder.blocks[0].self_attention
        self.cache_shape = (attention.num_heads, attention.key_dim)
        self.cache_dtype = attention.key_dense.compute_dtype
        self.step = compiled(self._step)
        self.encode = compiled(self._encode)
        # Todas las entradas como tensores del backend: PyTorch no admite mezclarlas
        # con arreglos de numpy en la llamada a un modelo.
        self.forward = compiled(lambda *inputs: model(
            [ops.convert_to_tensor(i) for i in inputs] if seq2seq
            else ops.convert_to_tensor(inputs[0]), training=False))

    def logits(self, hidden):
        if self.output_layer is None:
            return self.target_embedding(hidden, reverse=True)
        return self.output_layer(hidden)

    def _encode(self, source):
        mask = ops.not_equal(source, PAD_ID)                               # (N, S)
        memory = self.encoder(self.source_embedding(source), padding_mask=mask)
        return self.decoder.memory_key_value(memory), mask

    def _step(self, tokens, index, caches, memory_caches, memory_mask, parents):
        """Un token por fila: ``tokens`` (N, 1) en la posición ``index`` → log-probabilidades."""
        if parents is not None:  # búsqueda en haz: cada fila sigue a su haz padre
            caches = [(ops.take(k, parents, axis=0), ops.take(v, parents, axis=0))
                      for k, v in caches]
        x = self.target_embedding(tokens, start_index=index)               # (N, 1, d)
        hidden, caches = self.decoder.call_with_cache(x, caches, index, memory_caches,
                                                      memory_mask)
        logits = self.logits(hidden)[:, 0, :]                              # (N, V)
        return ops.log_softmax(ops.cast(logits, "float32"), axis=-1), caches

    def empty_caches(self, rows: int, length: int):
        shape = (rows, *self.cache_shape[:1], length, self.cache_shape[1])  # (N, H, L, dk)
        return [(ops.zeros(shape, self.cache_dtype), ops.zeros(shape, self.cache_dtype))
                for _ in self.decoder.blocks]


class _EngineParts:
    """Lo que necesita la decodificación sin caché, de un motor de inferencia exportado.

    Un motor (ONNX, OpenVINO...) solo ejecuta el modelo entero: cada paso vuelve a
    procesar el prefijo (:class:`_UncachedScorer`).
    """

    def __init__(self, engine, where: str, seq2seq: bool):
        from modelos.registro import builder_spec

        spec = builder_spec(engine)
        expected = "transformer" if seq2seq else "transformer_lm"
        if spec is None or spec.name not in (expected, "seq2seq" if seq2seq else expected):
            raise ArgumentError(f"{where}: se esperaba un modelo de «{expected}»; el motor "
                                f"ejecuta «{spec.name if spec else engine}».")
        self.model = engine
        self.seq2seq = seq2seq
        self.max_positions = self.source_positions = int(spec.kwargs["max_len"])
        self.forward = lambda *inputs: engine.predict_on_batch(
            [np.asarray(i, "int32") for i in inputs])


def _parts(model, where: str, seq2seq: bool) -> _Parts | _EngineParts:
    # Un motor de inferencia (inferencia.motores.Engine) lleva ``keras_model``: el modelo
    # de Keras si lo ejecuta Keras, ``None`` si es una exportación.
    if hasattr(model, "keras_model"):
        if model.keras_model is None:
            return _EngineParts(model, where, seq2seq)
        model = model.keras_model
    if seq2seq:  # un seq2seq recurrente (build_seq2seq): sus propias piezas
        from modelos.seq2seq.decodificacion import recurrent_parts

        recurrent = recurrent_parts(model, where)
        if recurrent is not None:
            return recurrent
    parts = getattr(model, "_redes_decoding", None)
    if parts is None or parts.seq2seq != seq2seq:
        parts = _Parts(model, where, seq2seq)
        object.__setattr__(model, "_redes_decoding", parts)  # fuera del rastreo de Keras
    return parts


def _as_batch(ids, name: str, where: str) -> np.ndarray:
    array = np.asarray(ids)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] == 0 or not np.issubdtype(array.dtype, np.integer):
        raise ArgumentError(f"{where}: «{name}» debe ser una lista de ids enteros (T,) o una "
                            f"matriz (B, T); recibida forma {array.shape} de tipo {array.dtype}.")
    return array.astype("int32")


def sequence_limits(model) -> tuple[int, int]:
    """Tokens como máximo de origen y de destino de un modelo de :func:`build_transformer`.

    Son las filas de sus tablas de posiciones (``max_len`` del constructor).

    Returns:
        ``(origen, destino)``.
    """
    parts = _parts(model, "sequence_limits", seq2seq=True)
    return parts.source_positions, parts.max_positions


def _real_lengths(ids: np.ndarray) -> np.ndarray:
    """Tokens de cada fila hasta el último que no es relleno: ``(B,)``."""
    real = ids != PAD_ID
    return np.where(real.any(axis=1), ids.shape[1] - np.argmax(real[:, ::-1], axis=1), 0)


def _fit_positions(ids: np.ndarray, limit: int, name: str, where: str, *,
                   trim: bool = True) -> np.ndarray:
    """Comprueba que cada fila de ``ids`` cabe en ``limit`` posiciones.

    Con ``trim``, las columnas de relleno del final que sobran se quitan (el relleno
    no se atiende: el resultado es el mismo).

    Raises:
        ArgumentError: la primera fila demasiado larga, con sus tokens y el máximo.
    """
    if ids.shape[1] <= limit:
        return ids
    lengths = _real_lengths(ids)
    longest = int(np.argmax(lengths))
    if trim and lengths[longest] <= limit:
        return ids[:, :limit]
    received = int(lengths[longest]) if trim else ids.shape[1]
    row = f" (fila {longest})" if len(ids) > 1 and trim else ""
    raise ArgumentError(
        f"{where}: «{name}»{row} tiene {received} tokens y el modelo admite como máximo "
        f"{limit} (max_len, las filas de su tabla de posiciones).")


# === Traducción ===

class _CachedScorer:
    """Log-probabilidades del siguiente token con caché de claves/valores."""

    def __init__(self, parts: _Parts, source: np.ndarray | None, rows: int, max_len: int):
        self.parts = parts
        self.memory_caches = self.memory_mask = None
        if source is not None:
            self.memory_caches, self.memory_mask = parts.encode(ops.convert_to_tensor(source))
        self.caches = parts.empty_caches(rows, max_len)

    def __call__(self, tokens, index, parents):
        parents = None if parents is None else ops.convert_to_tensor(parents, "int32")
        log_probs, self.caches = self.parts.step(
            ops.convert_to_tensor(tokens[:, None], "int32"), ops.convert_to_tensor(index, "int32"),
            self.caches, self.memory_caches, self.memory_mask, parents)
        return ops.convert_to_numpy(log_probs)


class _UncachedScorer:
    """Lo mismo ejecutando el modelo entero sobre todo el prefijo en cada paso."""

    def __init__(self, parts: _Parts, source: np.ndarray | None, rows: int, max_len: int):
        self.parts = parts
        self.source = None if source is None else ops.convert_to_tensor(source)
        self.prefix = np.zeros((rows, 0), "int32")

    def __call__(self, tokens, index, parents):
        if parents is not None:
            self.prefix = self.prefix[parents]
        self.prefix = np.concatenate([self.prefix, tokens[:, None].astype("int32")], axis=1)
        inputs = (self.source, self.prefix) if self.parts.seq2seq else (self.prefix,)
        logits = ops.convert_to_numpy(self.parts.forward(*inputs))[:, -1, :]
        logits = logits.astype(np.float64)
        return logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)


def translate(model, source_ids, max_len: int, beam_size: int = 1, *, bos_id: int = BOS_ID,
              eos_id: int = EOS_ID, length_penalty: float = 0.6, use_cache: bool = True
              ) -> list[list[int]]:
    """Traduce con un modelo de :func:`build_transformer`, token a token.

    Args:
        model: el modelo codificador-decodificador entrenado, o un motor de
            :mod:`inferencia.motores` que lo ejecute.
        source_ids: ids de origen ``(S,)`` o ``(B, S)`` (relleno 0 al final).
        max_len: tokens de salida como máximo (incluido ``</s>``), ≤ ``max_len`` del
            modelo; una hipótesis que llega a ese tope sin ``</s>`` se devuelve cortada.
        beam_size: 1 = voraz; K > 1 = búsqueda en haz con K hipótesis por frase
            (hasta :data:`MAX_BEAM`).
        bos_id: id de ``<s>`` con el que empieza el destino.
        eos_id: id de ``</s>``, que termina una hipótesis.
        length_penalty: α de la normalización por longitud ``((5 + n) / 6)^α`` al elegir
            la mejor hipótesis final del haz (0.6 como en el artículo; 0 = ninguna).
        use_cache: caché de claves/valores (un paso por token); ``False`` re-ejecuta
            el modelo sobre el prefijo entero en cada paso (siempre así con un motor
            exportado de :mod:`inferencia.motores`). Con un seq2seq recurrente
            (:func:`modelos.seq2seq.build_seq2seq`) la «caché» es su estado: cada
            token es un paso de la celda.

    Returns:
        Una lista de ids por frase, sin ``<s>`` ni ``</s>``.

    Raises:
        ArgumentError: una frase de origen con más tokens que ``max_len`` del modelo,
            o ``max_len`` mayor que el del modelo.

    Example:
        >>> translate(modelo, [[7, 12, 9, 0]], max_len=20, beam_size=4)  # doctest: +SKIP
        [[15, 4, 22]]
    """
    where = "translate"
    source = _as_batch(source_ids, "source_ids", where)
    parts = _parts(model, where, seq2seq=True)
    source = _fit_positions(source, parts.source_positions, "source_ids", where)
    check_int(max_len, "max_len", maximum=parts.max_positions, where=where)
    beam = check_int(beam_size, "beam_size", maximum=MAX_BEAM, where=where)
    check_number(length_penalty, "length_penalty", minimum=0.0, maximum=10.0, where=where)
    cached = use_cache and isinstance(parts, _Parts)  # un motor exportado no tiene caché
    scorer_class = _CachedScorer if cached else _UncachedScorer
    if use_cache and hasattr(parts, "scorer"):  # seq2seq recurrente: un paso de la celda
        scorer = parts.scorer(np.repeat(source, beam, axis=0))
    else:
        scorer = scorer_class(parts, np.repeat(source, beam, axis=0), len(source) * beam,
                              max_len)
    return _beam_search(scorer, len(source), beam, max_len, bos_id, eos_id, length_penalty)


def _beam_search(scorer, batch: int, beam: int, max_len: int, bos_id: int, eos_id: int,
                 length_penalty: float) -> list[list[int]]:
    """Búsqueda en haz sobre ``batch`` frases (con ``beam == 1`` es la voraz)."""
    rows = batch * beam
    scores = np.zeros((batch, beam))
    scores[:, 1:] = -np.inf           # al principio solo el primer haz está vivo
    finished = np.zeros((batch, beam), bool)
    lengths = np.zeros((batch, beam))
    tokens = np.full(rows, bos_id, "int32")
    parents = None
    history = []                      # (tokens (B, K), haz padre (B, K)) por paso
    for index in range(max_len):
        log_probs = scorer(tokens, index, parents).reshape(batch, beam, -1)  # (B, K, V)
        vocab = log_probs.shape[-1]
        # El relleno nunca es un token generado; una hipótesis terminada solo se
        # alarga con relleno, sin coste.
        log_probs[..., PAD_ID] = -np.inf
        log_probs[finished] = -np.inf
        log_probs[finished, PAD_ID] = 0.0
        candidates = (scores[:, :, None] + log_probs).reshape(batch, beam * vocab)
        best = np.argsort(-candidates, axis=1, kind="stable")[:, :beam]   # (B, K)
        parent, token = best // vocab, best % vocab
        scores = np.take_along_axis(candidates, best, axis=1)
        was_finished = np.take_along_axis(finished, parent, axis=1)
        lengths = np.take_along_axis(lengths, parent, axis=1) + ~was_finished
        finished = was_finished | (token == eos_id)
        history.append((token, parent))
        tokens = token.reshape(rows).astype("int32")
        parents = None if beam == 1 else (np.arange(batch)[:, None] * beam + parent).reshape(rows)
        if finished.all():
            break
    penalty = ((5.0 + lengths) / 6.0) ** length_penalty
    choice = np.argmax(scores / penalty, axis=1)                          # (B,)
    results = []
    for b in range(batch):
        k, sequence = choice[b], []
        for token, parent in reversed(history):
            sequence.append(int(token[b, k]))
            k = parent[b, k]
        sequence.reverse()
        if eos_id in sequence:
            sequence = sequence[: sequence.index(eos_id)]
        results.append([t for t in sequence if t != PAD_ID])
    return results


# === Generación (modelo de lenguaje) ===

def generate(lm, prompt_ids, max_len: int, temperature: float = 1.0, top_k: int | None = None,
             seed: int | None = None, *, use_cache: bool = True) -> np.ndarray:
    """Continúa ``prompt_ids`` con un modelo de :func:`build_decoder_lm`.

    Args:
        lm: el modelo de lenguaje.
        prompt_ids: ids ``(P,)`` o ``(B, P)`` sin relleno.
        max_len: longitud total de la salida (comienzo incluido), ≤ ``max_len`` del modelo.
        temperature: 0 = voraz (argmax); > 0 divide los logits antes de muestrear.
        top_k: muestrear solo entre los ``top_k`` tokens más probables.
        seed: semilla del muestreo (misma semilla, mismos tokens).
        use_cache: caché de claves/valores; ``False`` re-ejecuta el prefijo entero.

    Returns:
        Matriz ``(B, max_len)`` de ids: el comienzo seguido de lo generado.

    Raises:
        ArgumentError: un comienzo que no deja sitio para generar o ``max_len`` mayor
            que el del modelo.
    """
    where = "generate"
    prompt = _as_batch(prompt_ids, "prompt_ids", where)
    if (prompt == PAD_ID).any():
        raise ArgumentError(f"{where}: «prompt_ids» no puede contener el relleno (id {PAD_ID}).")
    parts = _parts(lm, where, seq2seq=False)
    if prompt.shape[1] >= parts.max_positions:
        raise ArgumentError(
            f"{where}: «prompt_ids» tiene {prompt.shape[1]} tokens y el modelo admite como "
            f"máximo {parts.max_positions} (max_len) contando los que se generen; el "
            f"comienzo puede tener hasta {parts.max_positions - 1}.")
    check_int(max_len, "max_len", minimum=prompt.shape[1] + 1, maximum=parts.max_positions,
              where=where)
    check_number(temperature, "temperature", minimum=0.0, maximum=1e3, where=where)
    if top_k is not None:
        check_int(top_k, "top_k", where=where)
    rng = np.random.default_rng(seed)
    scorer = (_CachedScorer if use_cache else _UncachedScorer)(parts, None, len(prompt), max_len)
    sequence = prompt
    for index in range(max_len - 1):
        log_probs = scorer(sequence[:, index], index, None)                # (B, V)
        if index + 1 < prompt.shape[1]:
            continue  # aún dentro del comienzo: solo se llena la caché
        chosen = _sample(log_probs, temperature, top_k, rng)
        sequence = np.concatenate([sequence, chosen[:, None]], axis=1)
    return sequence


def _sample(log_probs: np.ndarray, temperature: float, top_k: int | None,
            rng: np.random.Generator) -> np.ndarray:
    """Un token por fila: argmax con temperatura 0; si no, Gumbel-max sobre logits / T."""
    log_probs = log_probs.astype(np.float64)
    log_probs[:, PAD_ID] = -np.inf  # el relleno nunca se genera
    if temperature == 0:
        return np.argmax(log_probs, axis=-1).astype("int32")
    logits = log_probs / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = np.sort(logits, axis=-1)[:, -top_k][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    noise = rng.gumbel(size=logits.shape)
    return np.argmax(logits + noise, axis=-1).astype("int32")


# === Mirar dentro ===

def attention_maps(model, source, target) -> dict[str, Any]:
    """Pesos de atención de cada capa y cabeza de un modelo de :func:`build_transformer`.

    Args:
        model: el modelo codificador-decodificador.
        source: ids de origen ``(S,)`` o ``(B, S)``.
        target: ids del destino desplazado (empieza por ``<s>``), ``(T,)`` o ``(B, T)``.

    Returns:
        ``{"encoder": [...], "decoder_self": [...], "decoder_cross": [...]}``: una matriz
        numpy por capa, ``(B, H, S, S)``, ``(B, H, T, T)`` y ``(B, H, T, S)``; cada fila
        suma 1 (las columnas de relleno valen 0). Con un seq2seq recurrente con atención
        solo hay ``"decoder_cross"``, una capa de una cabeza: ``[(B, 1, T, S)]``.

    Raises:
        ArgumentError: ``source`` o ``target`` más largos que ``max_len`` del modelo.
    """
    where = "attention_maps"
    source = _as_batch(source, "source", where)
    target = _as_batch(target, "target", where)
    if len(source) != len(target):
        raise ArgumentError(f"{where}: «source» tiene {len(source)} frases y «target» "
                            f"{len(target)}; deben ser las mismas.")
    parts = _parts(model, where, seq2seq=True)
    _fit_positions(source, parts.source_positions, "source", where, trim=False)
    _fit_positions(target, parts.max_positions, "target", where, trim=False)
    if hasattr(parts, "attention_maps"):  # seq2seq recurrente: solo la atención cruzada
        return parts.attention_maps(source, target)
    source_mask = ops.not_equal(source, PAD_ID)
    memory, encoder_maps = parts.encoder(parts.source_embedding(source), padding_mask=source_mask,
                                         return_attention=True)
    _, decoder_maps = parts.decoder(parts.target_embedding(target), memory,
                                    padding_mask=ops.not_equal(target, PAD_ID),
                                    memory_mask=source_mask, return_attention=True)
    return {
        "encoder": [ops.convert_to_numpy(w) for w in encoder_maps],
        "decoder_self": [ops.convert_to_numpy(w) for w, _ in decoder_maps],
        "decoder_cross": [ops.convert_to_numpy(w) for _, w in decoder_maps],
    }
