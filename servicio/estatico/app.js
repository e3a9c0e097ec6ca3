/*
 * redes servir: la página web de la API (issue 14).
 *
 * JavaScript plano, sin compilar y sin nada de fuera (funciona sin red). Las rutas son
 * relativas: la misma app sirve la página y la API. Los textos que llegan del servidor se
 * insertan siempre con textContent, nunca como HTML.
 *
 * Marcas para las pruebas en navegador (tests/test_pagina_web.py):
 *   #lienzo-deteccion[data-cajas]       cajas dibujadas en la última detección;
 *   #conteo-deteccion li[data-etiqueta][data-n]  cajas de cada clase en esa detección;
 *   #grafico-ventas[data-puntos]        puntos dibujados (historia + pronóstico);
 *   #grafico-ventas[data-bandas]        niveles de los intervalos dibujados («95,80» o «»),
 *     cada uno un path.banda[data-nivel] y su .leyenda-banda[data-nivel] en la leyenda;
 *   #grafico-ventas[data-series|serie]  series de la respuesta y la que se dibuja;
 *   #mapa-atencion[data-filas|columnas] tamaño del mapa de calor;
 *   #resultado-traduccion               el texto en inglés;
 *   #error-<tarea>                      el último error legible de cada pestaña.
 */
"use strict";

(function () {
  const TASKS = ["deteccion", "ventas", "traduccion"];
  // La pestaña de cada tarea de /modelos (la de ventas muestra la tarea «pronostico»).
  const TAB_OF_TASK = { pronostico: "ventas" };
  const TASK_NAMES = {
    deteccion: "detección",
    ventas: "ventas",
    traduccion: "traducción",
    clasificacion: "clasificación",
  };
  const SVG_NS = "http://www.w3.org/2000/svg";
  const MONTHS = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov",
    "dic"];
  // Colores de las cajas: distinguibles entre sí y legibles con texto blanco encima.
  const PALETTE = ["#e6194b", "#1f5fbf", "#2e8b57", "#d9480f", "#7b2cbf", "#0f8b8d",
    "#b5179e", "#8a6d00", "#5c677d", "#c92a2a"];
  // Ancho interno del lienzo: las fotos pequeñas se amplían (cajas y letras nítidas) y las
  // grandes se reducen; el CSS lo ajusta después al ancho disponible.
  const MIN_CANVAS_WIDTH = 640;
  const MAX_CANVAS_WIDTH = 960;
  const MAX_HISTORY_DAYS = 120; // días de historia que se dibujan como mucho

  const $ = (id) => document.getElementById(id);
  const state = {
    models: {}, // tarea → [nombre, ...]
    labels: {}, // nombre de modelo → [etiqueta, ...]
    requestSeq: { deteccion: 0, ventas: 0, traduccion: 0 },
    salesCsv: null, // último CSV enviado (para repetir al cambiar los días)
    salesFuture: null, // CSV de covariables futuras (modelos de muchas series)
    salesResponse: null, // última respuesta de muchas series (para cambiar de serie)
    info: {}, // nombre de modelo → lo que cuenta /modelos de él
  };

  // --- números y fechas en castellano ---
  function formatNumber(x, decimals) {
    return Number(x).toLocaleString("es-ES", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
  }

  function parseDate(text) {
    // «2017-12-01» (o con hora) → milisegundos UTC del día; NaN si no se entiende.
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(String(text));
    return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  }

  function shortDate(ms, withYear) {
    const d = new Date(ms);
    const text = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
    return withYear ? `${text} ${d.getUTCFullYear()}` : text;
  }

  // --- llamadas a la API y errores legibles ---
  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  function messageForStatus(status) {
    if (status === 401) {
      return "El servidor pide una clave de acceso: escríbela en «Clave de acceso», arriba.";
    }
    if (status === 404) return "El servidor no tiene ese modelo cargado.";
    if (status === 413) return "El archivo es demasiado grande para el servidor.";
    if (status === 415) return "El servidor no admite ese tipo de archivo.";
    if (status === 422) return "El servidor no ha podido leer los datos enviados.";
    if (status >= 500) return `Error interno del servidor (HTTP ${status}).`;
    return `El servidor ha respondido con un error (HTTP ${status}).`;
  }

  function detailText(detail) {
    // El contrato da siempre una cadena; se admite también la lista de FastAPI por defecto.
    if (typeof detail === "string") return detail.trim();
    if (Array.isArray(detail)) {
      return detail
        .map((d) => {
          if (!d || typeof d !== "object") return String(d);
          const field = Array.isArray(d.loc) ? d.loc.filter((p) => p !== "body").join(".") : "";
          return field ? `${field}: ${d.msg}` : String(d.msg || "");
        })
        .filter(Boolean)
        .join("; ");
    }
    return "";
  }

  async function callApi(path, options = {}) {
    const headers = new Headers(options.headers || {});
    const accessKey = sessionStorage.getItem("redes-clave");
    if (accessKey) headers.set("X-Clave", accessKey);
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch (e) {
      throw new ApiError("No se ha podido conectar con el servidor. ¿Sigue en marcha?", 0);
    }
    if (response.ok) return response;
    let detail = "";
    try {
      detail = detailText((await response.json()).detail);
    } catch (e) {
      detail = ""; // cuerpo que no es JSON (p. ej. un proxy): se usa el mensaje genérico
    }
    if (response.status === 401) $("panel-clave").open = true;
    throw new ApiError(detail || messageForStatus(response.status), response.status);
  }

  async function callApiJson(path, options) {
    const response = await callApi(path, options);
    try {
      return await response.json();
    } catch (e) {
      throw new ApiError("La respuesta del servidor no es JSON válido.", response.status);
    }
  }

  function showError(task, message) {
    const el = $(`error-${task}`);
    el.textContent = message;
    el.hidden = false;
  }

  function clearError(task) {
    const el = $(`error-${task}`);
    el.textContent = "";
    el.hidden = true;
  }

  function failureMessage(withName, withoutName, name, e) {
    // «No se ha podido …: detalle», sin repetir el nombre del archivo si ya lo da el detalle.
    const detail = errorText(e);
    const action = name && !detail.includes(name) ? withName : withoutName;
    return `No se ha podido ${action}: ${detail}`;
  }

  function errorText(e) {
    return e instanceof ApiError ? e.message : `Error inesperado en la página: ${e.message}`;
  }

  function withModel(path, task, extra = {}) {
    const params = new URLSearchParams(extra);
    const selector = $(`modelo-${task}`);
    if (selector && selector.value) params.set("modelo", selector.value);
    const query = params.toString();
    return query ? `${path}?${query}` : path;
  }

  function setLoading(task, loading) {
    $(`cargando-${task}`).hidden = !loading;
    $(`panel-${task}`).setAttribute("aria-busy", loading ? "true" : "false");
  }

  // --- pestañas (patrón WAI-ARIA «tabs» con activación automática) ---
  function allTabs() {
    return Array.from(document.querySelectorAll('[role="tab"]'));
  }

  function activateTab(tab, focus) {
    for (const p of allTabs()) {
      const active = p === tab;
      p.setAttribute("aria-selected", active ? "true" : "false");
      p.tabIndex = active ? 0 : -1;
      $(p.getAttribute("aria-controls")).hidden = !active;
    }
    if (focus) tab.focus();
    const task = tab.id.replace("pestana-", "");
    history.replaceState(null, "", `#${task}`);
  }

  function initTabs() {
    const list = allTabs();
    for (const p of list) {
      p.addEventListener("click", () => activateTab(p, false));
      p.addEventListener("keydown", (ev) => {
        const i = list.indexOf(p);
        let target = null;
        if (ev.key === "ArrowRight") target = list[(i + 1) % list.length];
        else if (ev.key === "ArrowLeft") target = list[(i - 1 + list.length) % list.length];
        else if (ev.key === "Home") target = list[0];
        else if (ev.key === "End") target = list[list.length - 1];
        if (target) {
          ev.preventDefault();
          activateTab(target, true);
        }
      });
    }
    const initial = $(`pestana-${location.hash.slice(1)}`);
    if (initial && initial.getAttribute("role") === "tab") activateTab(initial, false);
  }

  // --- modelos cargados ---
  function controlsOf(task) {
    return $(`panel-${task}`).querySelectorAll("input, select, button");
  }

  function applyModels(list) {
    state.models = {};
    for (const m of list) {
      const tab = TAB_OF_TASK[m.tarea] || m.tarea;
      (state.models[tab] = state.models[tab] || []).push(m.nombre);
      state.labels[m.nombre] = Array.isArray(m.etiquetas) ? m.etiquetas : [];
      state.info[m.nombre] = m;
    }
    for (const task of TASKS) {
      const names = state.models[task] || [];
      const notice = $(`aviso-${task}`);
      const tab = $(`pestana-${task}`);
      tab.querySelector(".sin-modelo")?.remove();
      if (names.length === 0) {
        const command = document.createElement("code");
        command.textContent = "redes servir --pesos <archivo.h5>";
        notice.replaceChildren(`No hay ningún modelo de ${TASK_NAMES[task]} cargado en el ` +
          "servidor, así que esta pestaña no puede funcionar. Arráncalo con ", command,
        " y un modelo de esta tarea.");
        notice.hidden = false;
        const badge = document.createElement("span");
        badge.className = "sin-modelo";
        badge.textContent = " (sin modelo)";
        tab.append(badge);
      } else {
        notice.hidden = true;
      }
      for (const control of controlsOf(task)) control.disabled = names.length === 0;
      const selector = $(`modelo-${task}`);
      selector.replaceChildren(...names.map((n) => new Option(n, n)));
      $(`control-modelo-${task}`).hidden = names.length < 2;
    }
    updateSalesControls();
  }

  async function loadModels() {
    const indicator = $("estado-servidor");
    try {
      const data = await callApiJson("modelos");
      const list = Array.isArray(data.modelos) ? data.modelos : [];
      applyModels(list);
      indicator.textContent = list.length === 1 ? "1 modelo cargado" :
        `${list.length} modelos cargados`;
      indicator.className = "estado-servidor ok";
      document.body.dataset.modelos = String(list.length);
    } catch (e) {
      indicator.textContent = "Sin conexión con la API";
      indicator.className = "estado-servidor mal";
      for (const task of TASKS) {
        showError(task, `No se ha podido saber qué modelos hay: ${errorText(e)}`);
      }
      document.body.dataset.modelos = "error";
    }
  }

  // === Detección ===
  function colorFor(label, model) {
    const labels = state.labels[model] || [];
    let i = labels.indexOf(label);
    if (i < 0) {
      i = 0;
      for (const c of String(label)) i = (i * 31 + c.charCodeAt(0)) >>> 0;
    }
    return PALETTE[i % PALETTE.length];
  }

  async function decodePhoto(file) {
    try {
      return await createImageBitmap(file);
    } catch (e) {
      return null; // el navegador no la sabe leer; el servidor dirá si es válida
    }
  }

  function drawDetection(photo, response) {
    const canvas = $("lienzo-deteccion");
    const width = Number(response.ancho) || (photo ? photo.width : 640);
    const height = Number(response.alto) || (photo ? photo.height : 480);
    const scale = Math.min(MAX_CANVAS_WIDTH, Math.max(MIN_CANVAS_WIDTH, width)) / width;
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (photo) {
      ctx.drawImage(photo, 0, 0, canvas.width, canvas.height);
    } else {
      ctx.fillStyle = "#e9ecf2";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
    }
    const boxes = Array.isArray(response.cajas) ? response.cajas : [];
    const lineWidth = Math.max(2, Math.round(canvas.width / 320));
    const fontSize = Math.max(12, Math.round(canvas.width / 55));
    ctx.font = `600 ${fontSize}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    const list = $("lista-deteccion");
    list.replaceChildren();
    for (const box of boxes) {
      const color = colorFor(box.etiqueta, response.modelo);
      const x1 = box.x1 * scale;
      const y1 = box.y1 * scale;
      const w = (box.x2 - box.x1) * scale;
      const h = (box.y2 - box.y1) * scale;
      ctx.strokeStyle = color;
      ctx.lineWidth = lineWidth;
      ctx.strokeRect(x1, y1, w, h);
      // Etiqueta encima de la caja (o dentro si no cabe por arriba).
      const text = `${box.etiqueta} ${formatNumber(box.puntuacion, 2)}`;
      const tw = ctx.measureText(text).width + 8;
      const th = fontSize + 6;
      const ty = y1 - th >= 0 ? y1 - th : y1;
      const tx = Math.min(Math.max(0, x1 - lineWidth / 2), Math.max(0, canvas.width - tw));
      ctx.fillStyle = color;
      ctx.fillRect(tx, ty, tw, th);
      ctx.fillStyle = "#ffffff";
      ctx.fillText(text, tx + 4, ty + 3);

      const li = document.createElement("li");
      li.dataset.etiqueta = box.etiqueta;
      li.dataset.color = color;
      li.dataset.x1 = String(box.x1);
      li.dataset.y1 = String(box.y1);
      li.dataset.x2 = String(box.x2);
      li.dataset.y2 = String(box.y2);
      const swatch = document.createElement("span");
      swatch.className = "muestra";
      swatch.style.background = color;
      const name = document.createElement("span");
      name.textContent = box.etiqueta;
      const score = document.createElement("span");
      score.className = "puntuacion";
      score.textContent = formatNumber(box.puntuacion, 2);
      li.append(swatch, name, score);
      list.append(li);
    }
    showCounts(countsOf(response, boxes), response.modelo);
    const threshold = formatNumber($("umbral-deteccion").value, 2);
    let summary;
    if (boxes.length === 0) summary = `Ningún objeto supera el umbral ${threshold}.`;
    else if (boxes.length === 1) summary = `1 objeto con puntuación ≥ ${threshold}.`;
    else summary = `${boxes.length} objetos con puntuación ≥ ${threshold}.`;
    summary += ` Imagen de ${width} × ${height} px`;
    if (!photo) summary += " (el navegador no sabe mostrar este formato)";
    $("resumen-deteccion").textContent = `${summary}.`;
    canvas.setAttribute("aria-label", `Foto con ${boxes.length} cajas detectadas`);
    canvas.dataset.escala = String(scale);
    canvas.dataset.cajas = String(boxes.length);
  }

  // Cajas por clase: el «conteo» de la respuesta o, si no viene, contadas aquí.
  function countsOf(response, boxes) {
    const given = response.conteo;
    if (given && typeof given === "object" && !Array.isArray(given)) {
      return Object.entries(given).map(([label, n]) => [label, Number(n) || 0]);
    }
    const counts = new Map();
    for (const box of boxes) counts.set(box.etiqueta, (counts.get(box.etiqueta) || 0) + 1);
    return Array.from(counts.entries());
  }

  function showCounts(counts, model) {
    const list = $("conteo-deteccion");
    list.replaceChildren();
    for (const [label, n] of counts) {
      const li = document.createElement("li");
      li.dataset.etiqueta = label;
      li.dataset.n = String(n);
      const swatch = document.createElement("span");
      swatch.className = "muestra";
      swatch.style.background = colorFor(label, model);
      const name = document.createElement("span");
      name.textContent = `${label}:`;
      const number = document.createElement("span");
      number.className = "numero";
      number.textContent = String(n);
      li.append(swatch, name, number);
      list.append(li);
    }
  }

  function showFileName(input, nameId) {
    const file = input.files[0];
    if (file) $(nameId).textContent = file.name;
  }

  async function detect() {
    const file = $("imagen-deteccion").files[0];
    if (!file) return;
    const seq = ++state.requestSeq.deteccion;
    clearError("deteccion");
    setLoading("deteccion", true);
    const form = new FormData();
    form.append("imagen", file, file.name);
    const path = withModel("detectar", "deteccion", { umbral: $("umbral-deteccion").value });
    try {
      const [response, photo] = await Promise.all([
        callApiJson(path, { method: "POST", body: form }),
        decodePhoto(file),
      ]);
      if (seq !== state.requestSeq.deteccion) return; // llegó otra petición después
      drawDetection(photo, response);
    } catch (e) {
      if (seq !== state.requestSeq.deteccion) return;
      showError("deteccion",
        failureMessage(`analizar «${file.name}»`, "analizar la foto", file.name, e));
      drawEmptyCanvas();
      $("lista-deteccion").replaceChildren();
      $("conteo-deteccion").replaceChildren();
      $("lienzo-deteccion").dataset.cajas = "0";
      $("resumen-deteccion").textContent = "Sin resultado.";
    } finally {
      if (seq === state.requestSeq.deteccion) setLoading("deteccion", false);
    }
  }

  function drawEmptyCanvas() {
    const canvas = $("lienzo-deteccion");
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#e9ecf2";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#5b6475";
    ctx.font = "20px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("Aquí aparecerá la foto con sus cajas", canvas.width / 2, canvas.height / 2);
    ctx.textAlign = "start";
  }

  function initDetection() {
    drawEmptyCanvas();
    const threshold = $("umbral-deteccion");
    const valueLabel = $("valor-umbral");
    const showThreshold = () => { valueLabel.textContent = formatNumber(threshold.value, 2); };
    showThreshold();
    threshold.addEventListener("input", showThreshold);
    threshold.addEventListener("change", detect);
    $("imagen-deteccion").addEventListener("change", (ev) => {
      showFileName(ev.target, "nombre-imagen");
      detect();
    });
    $("modelo-deteccion").addEventListener("change", detect);
    $("formulario-deteccion").addEventListener("submit", (ev) => {
      ev.preventDefault();
      detect();
    });
  }

  // === Ventas ===
  function svg(name, attributes = {}, text) {
    const el = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attributes)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function niceTicks(min, max, count) {
    // Marcas «redondas» (1, 2, 2,5, 5 × 10^k) que cubren [min, max].
    if (!(max > min)) {
      const d = Math.abs(min) > 0 ? Math.abs(min) * 0.1 : 1;
      min -= d;
      max += d;
    }
    const rawStep = (max - min) / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(rawStep)));
    const step = [1, 2, 2.5, 5, 10].map((f) => f * power).find((p) => p >= rawStep);
    const start = Math.floor(min / step) * step;
    const end = Math.ceil(max / step) * step;
    const ticks = [];
    for (let v = start; v <= end + step / 2; v += step) ticks.push(Number(v.toFixed(10)));
    return { ticks, step, start, end };
  }

  function seriesPoints(series, name) {
    if (!Array.isArray(series)) throw new ApiError(`La respuesta no trae «${name}».`, 200);
    return series.map((p, i) => {
      const t = parseDate(p.fecha);
      const y = Number(p.unidades);
      if (Number.isNaN(t) || !Number.isFinite(y)) {
        throw new ApiError(`La respuesta trae un punto ilegible en «${name}» (posición ${i}).`,
          200);
      }
      return { t, y, date: p.fecha };
    });
  }

  function drawSales(response) {
    // Muchas series (un modelo global): se dibuja la elegida en «Serie».
    const many = Array.isArray(response.series);
    const picker = $("serie-ventas");
    if (!many) {
      state.salesResponse = null;
      $("control-serie-ventas").hidden = true;
      drawSeries(response, response, 1);
      return;
    }
    if (response.series.length === 0) throw new ApiError("La respuesta no trae ninguna serie.", 200);
    const previous = picker.selectedOptions[0]?.textContent;
    const names = response.series.map((item) => String(item.serie));
    picker.replaceChildren(...names.map((name, i) => new Option(name, String(i))));
    picker.value = String(Math.max(0, names.indexOf(previous)));
    $("control-serie-ventas").hidden = names.length < 2;
    state.salesResponse = response;
    drawSeries(response, response.series[Number(picker.value)], names.length);
  }

  function intervalLevels(response, forecastRows) {
    // Los niveles de la respuesta cuyos extremos vienen, finitos, en todos los días.
    const levels = Array.isArray(response.niveles) ? response.niveles : [];
    return levels.filter((level) => forecastRows.length > 0 && forecastRows.every((p) =>
      Number.isFinite(Number(p[`inferior_${level}`])) &&
      Number.isFinite(Number(p[`superior_${level}`])))).sort((a, b) => b - a); // ancho primero
  }

  function drawSeries(response, item, seriesCount) {
    const allHistory = seriesPoints(item.historia, "historia");
    const forecastPoints = seriesPoints(item.pronostico, "pronostico");
    const levels = intervalLevels(response, item.pronostico);
    const bands = levels.map((level) => item.pronostico.map((p, i) => ({
      t: forecastPoints[i].t, lo: Number(p[`inferior_${level}`]),
      hi: Number(p[`superior_${level}`]) })));
    const historyPoints = allHistory.slice(-MAX_HISTORY_DAYS);
    const allPoints = historyPoints.concat(forecastPoints);
    const chart = $("grafico-ventas");
    const title = $("titulo-grafico-ventas");
    chart.replaceChildren(title);
    chart.setAttribute("hidden", "");
    const W = 900;
    const H = 380;
    const m = { left: 70, right: 24, top: 44, bottom: 50 };
    const width = W - m.left - m.right;
    const height = H - m.top - m.bottom;
    if (allPoints.length === 0) return;

    const t0 = allPoints[0].t;
    const t1 = allPoints[allPoints.length - 1].t;
    const day = 86400000;
    const tMin = t0;
    const tMax = t1 > t0 ? t1 : t0 + day;
    const ys = allPoints.map((p) => p.y).concat(...bands.map((band) =>
      band.flatMap((b) => [b.lo, b.hi])));
    let yMin = Math.min(...ys);
    const yMax = Math.max(...ys);
    if (yMin >= 0 && yMin < 0.5 * yMax) yMin = 0; // ventas: el cero como referencia
    const yScale = niceTicks(yMin, yMax, 5);
    const X = (t) => m.left + ((t - tMin) / (tMax - tMin)) * width;
    const Y = (y) => m.top + height - ((y - yScale.start) / (yScale.end - yScale.start)) * height;

    // Rejilla y eje Y
    const axes = svg("g", { class: "ejes" });
    for (const v of yScale.ticks) {
      const y = Y(v);
      axes.append(svg("line", { class: "rejilla", x1: m.left, x2: W - m.right, y1: y, y2: y }));
      const decimals = yScale.step < 1 ? 1 : 0;
      axes.append(svg("text", { x: m.left - 8, y: y + 4, "text-anchor": "end" },
        formatNumber(v, decimals)));
    }
    axes.append(svg("text", {
      x: 16, y: m.top + height / 2, "text-anchor": "middle",
      transform: `rotate(-90 16 ${m.top + height / 2})`,
    }, "unidades"));

    // Eje X: fechas, como mucho ~8 marcas, en días enteros
    const days = Math.round((tMax - tMin) / day);
    const steps = [1, 2, 7, 14, 28, 56, 91, 182, 365];
    const stepDays = steps.find((p) => days / p <= 8) || Math.ceil(days / 8);
    axes.append(svg("line", { class: "eje", x1: m.left, x2: W - m.right, y1: m.top + height,
      y2: m.top + height }));
    axes.append(svg("line", { class: "eje", x1: m.left, x2: m.left, y1: m.top,
      y2: m.top + height }));
    let previousYear = null;
    let xTicks = 0;
    for (let t = tMin; t <= tMax; t += stepDays * day) {
      const x = X(t);
      const year = new Date(t).getUTCFullYear();
      axes.append(svg("line", { class: "eje", x1: x, x2: x, y1: m.top + height,
        y2: m.top + height + 5 }));
      axes.append(svg("text", { class: "fecha", x, y: m.top + height + 20,
        "text-anchor": "middle" }, shortDate(t, year !== previousYear)));
      previousYear = year;
      xTicks += 1;
    }
    chart.append(axes);

    // Separación entre historia y pronóstico
    if (historyPoints.length && forecastPoints.length) {
      const xs = (X(historyPoints[historyPoints.length - 1].t) + X(forecastPoints[0].t)) / 2;
      chart.append(svg("line", { class: "separador", x1: xs, x2: xs, y1: m.top,
        y2: m.top + height }));
      // El rótulo va a la derecha de la línea si cabe; si no, a su izquierda.
      const fits = W - m.right - xs > 100;
      chart.append(svg("text", { x: fits ? xs + 6 : xs - 6, y: m.top + 14,
        "text-anchor": fits ? "start" : "end" }, fits ? "pronóstico →" : "pronóstico →|"));
    }

    // Intervalos: una banda sombreada por nivel, la más ancha debajo y más clara
    drawBands(chart, bands, levels, X, Y);

    // Series
    const pointsAttr = (points) => points.map((p) => `${X(p.t).toFixed(1)},${Y(p.y).toFixed(1)}`)
      .join(" ");
    if (historyPoints.length) {
      chart.append(svg("polyline", { class: "serie-historia", points: pointsAttr(historyPoints),
        "data-n": historyPoints.length }));
    }
    if (forecastPoints.length) {
      // La línea discontinua sale del último día conocido para que se lea seguida.
      const bridge = historyPoints.length ? [historyPoints[historyPoints.length - 1]] : [];
      chart.append(svg("polyline", { class: "serie-pronostico",
        points: pointsAttr(bridge.concat(forecastPoints)), "data-n": forecastPoints.length }));
      const points = svg("g", { class: "puntos-pronostico" });
      for (const p of forecastPoints) {
        const c = svg("circle", { class: "punto-pronostico", cx: X(p.t).toFixed(1),
          cy: Y(p.y).toFixed(1), r: 3.5 });
        c.append(svg("title", {}, `${shortDate(p.t, true)}: ${formatNumber(p.y, 1)} unidades`));
        points.append(c);
      }
      chart.append(points);
    }

    // Leyenda
    const legend = svg("g", { class: "leyenda", transform: `translate(${m.left}, 18)` });
    legend.append(svg("line", { class: "serie-historia", x1: 0, x2: 28, y1: 0, y2: 0 }));
    legend.append(svg("text", { x: 36, y: 5 }, "Historia"));
    legend.append(svg("line", { class: "serie-pronostico", x1: 120, x2: 148, y1: 0, y2: 0 }));
    legend.append(svg("text", { x: 156, y: 5 }, `Pronóstico (${forecastPoints.length} días)`));
    levels.forEach((level, k) => {
      const entry = svg("g", { class: "leyenda-banda", "data-nivel": level,
        transform: `translate(${330 + 150 * k}, 0)` });
      entry.append(svg("rect", { class: "banda", x: 0, y: -6, width: 28, height: 12,
        "fill-opacity": bandOpacity(k) }));
      entry.append(svg("text", { x: 36, y: 5 }, `Intervalo ${level} %`));
      legend.append(entry);
    });
    chart.append(legend);

    chart.removeAttribute("hidden"); // en SVG no hay propiedad «hidden»
    chart.dataset.historia = String(historyPoints.length);
    chart.dataset.pronostico = String(forecastPoints.length);
    chart.dataset.marcasX = String(xTicks);
    chart.dataset.puntos = String(allPoints.length);
    chart.dataset.bandas = levels.join(",");
    chart.dataset.series = String(seriesCount);
    chart.dataset.serie = item.serie === undefined ? "" : String(item.serie);

    // Resumen y tabla
    let summary = item.serie === undefined ? "" : `Serie «${item.serie}»` +
      (seriesCount > 1 ? ` (una de ${seriesCount}). ` : ". ");
    summary += `Historia: ${historyPoints.length} días`;
    if (allHistory.length > historyPoints.length) {
      summary += ` (los últimos de ${allHistory.length})`;
    }
    if (forecastPoints.length) {
      summary += `; pronóstico del ${shortDate(forecastPoints[0].t, true)} al ` +
        `${shortDate(forecastPoints[forecastPoints.length - 1].t, true)}`;
    }
    if (levels.length) {
      summary += `; intervalos del ${levels.slice().reverse().join(" y del ")} %`;
    }
    $("resumen-ventas").textContent = `${summary}. Modelo: ${response.modelo || "?"}.`;
    fillSalesTable(forecastPoints, item.pronostico, levels.slice().reverse());
  }

  function bandOpacity(k) {
    // La banda más ancha (k = 0) es la más clara; las de dentro se oscurecen al sumarse.
    return (0.18 + 0.14 * k).toFixed(2);
  }

  function drawBands(chart, bands, levels, X, Y) {
    bands.forEach((band, k) => {
      if (band.length === 0) return;
      const upper = band.map((b) => `${X(b.t).toFixed(1)},${Y(b.hi).toFixed(1)}`);
      const lower = band.slice().reverse().map((b) =>
        `${X(b.t).toFixed(1)},${Y(b.lo).toFixed(1)}`);
      const path = svg("path", { class: "banda", "data-nivel": levels[k],
        "fill-opacity": bandOpacity(k), d: `M${upper.join("L")}L${lower.join("L")}Z` });
      path.append(svg("title", {}, `Intervalo del ${levels[k]} %`));
      chart.append(path);
    });
  }

  function fillSalesTable(forecastPoints, rows, levels) {
    const headers = ["Fecha", "Unidades"].concat(levels.map((l) => `Intervalo ${l} %`));
    $("tabla-pronostico").querySelector("thead").replaceChildren(tableRow(headers, "th"));
    $("tabla-pronostico").querySelector("tbody").replaceChildren(...forecastPoints.map((p, i) =>
      tableRow([shortDate(p.t, true), formatNumber(p.y, 1)].concat(levels.map((l) =>
        `${formatNumber(rows[i][`inferior_${l}`], 1)} – ` +
        `${formatNumber(rows[i][`superior_${l}`], 1)}`)), "td")));
    $("tabla-pronostico").hidden = forecastPoints.length === 0;
  }

  function tableRow(cells, tag) {
    const row = document.createElement("tr");
    for (const text of cells) {
      const cell = document.createElement(tag);
      if (tag === "th") cell.scope = "col";
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }

  function updateSalesControls() {
    // El CSV de covariables futuras, solo con un modelo que las usa.
    const info = state.info[$("modelo-ventas").value] || {};
    const futures = Array.isArray(info.covariables_futuras) ? info.covariables_futuras : [];
    $("control-futuro-ventas").hidden = futures.length === 0;
  }

  function clearSales() {
    const chart = $("grafico-ventas");
    chart.replaceChildren($("titulo-grafico-ventas"));
    chart.setAttribute("hidden", "");
    chart.dataset.puntos = "0";
    chart.dataset.bandas = "";
    state.salesResponse = null;
    $("control-serie-ventas").hidden = true;
    $("tabla-pronostico").hidden = true;
    $("resumen-ventas").textContent = "Sin resultado.";
  }

  async function forecast(file) {
    if (!file) return;
    state.salesCsv = file;
    const seq = ++state.requestSeq.ventas;
    clearError("ventas");
    setLoading("ventas", true);
    const form = new FormData();
    form.append("archivo", file, file.name);
    form.append("dias", $("dias-ventas").value);
    if (state.salesFuture && !$("control-futuro-ventas").hidden) {
      form.append("futuro", state.salesFuture, state.salesFuture.name);
    }
    try {
      const response = await callApiJson(withModel("ventas/pronostico", "ventas"),
        { method: "POST", body: form });
      if (seq !== state.requestSeq.ventas) return;
      drawSales(response);
    } catch (e) {
      if (seq !== state.requestSeq.ventas) return;
      showError("ventas", failureMessage(
        `hacer el pronóstico con «${file.name}»`, "hacer el pronóstico", file.name, e));
      clearSales();
    } finally {
      if (seq === state.requestSeq.ventas) setLoading("ventas", false);
    }
  }

  async function useSample() {
    clearError("ventas");
    try {
      const response = await callApi("ventas/ejemplo");
      const text = await response.text();
      $("archivo-ventas").value = "";
      $("nombre-csv").textContent = "ejemplo.csv (del servidor)";
      await forecast(new File([text], "ejemplo.csv", { type: "text/csv" }));
    } catch (e) {
      showError("ventas", `No se ha podido obtener el ejemplo: ${errorText(e)}`);
    }
  }

  function initSales() {
    $("archivo-ventas").addEventListener("change", (ev) => {
      showFileName(ev.target, "nombre-csv");
      forecast(ev.target.files[0]);
    });
    $("ejemplo-ventas").addEventListener("click", useSample);
    $("dias-ventas").addEventListener("change", () => forecast(state.salesCsv));
    $("modelo-ventas").addEventListener("change", () => {
      updateSalesControls();
      forecast(state.salesCsv);
    });
    $("futuro-ventas").addEventListener("change", (ev) => {
      showFileName(ev.target, "nombre-futuro");
      state.salesFuture = ev.target.files[0] || null;
      forecast(state.salesCsv);
    });
    $("serie-ventas").addEventListener("change", (ev) => {
      const response = state.salesResponse;
      if (!response) return;
      const item = response.series[Number(ev.target.value)];
      if (item) drawSeries(response, item, response.series.length);
    });
    $("formulario-ventas").addEventListener("submit", (ev) => {
      ev.preventDefault();
      forecast(state.salesCsv);
    });
  }

  // === Traducción ===
  function weightColor(p) {
    // Escala de azules (de casi blanco a azul noche), interpolada en RGB.
    const stops = [[247, 251, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181],
      [8, 48, 107]];
    const x = Math.min(1, Math.max(0, Number(p) || 0)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const f = x - i;
    const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
    return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
  }

  function drawAttention(attention) {
    const heatmap = $("mapa-atencion");
    heatmap.replaceChildren($("titulo-mapa-atencion"));
    heatmap.dataset.filas = "0";
    heatmap.dataset.columnas = "0";
    $("figura-atencion").hidden = true;
    if (!attention || !Array.isArray(attention.pesos)) return;
    const source = (attention.origen || []).map(String);
    const target = (attention.destino || []).map(String);
    const weights = attention.pesos;
    const rows = weights.length;
    const columns = rows ? weights[0].length : 0;
    if (!rows || !columns) return;

    // Tamaño según las palabras: margen izquierdo para las inglesas, arriba las castellanas.
    const longest = (words) => Math.max(3, ...words.map((p) => p.length));
    const leftMargin = 24 + 8.5 * longest(target);
    const topMargin = 30 + 6.5 * longest(source);
    const cell = Math.max(34, Math.min(64, Math.floor(640 / Math.max(columns, rows))));
    const W = leftMargin + columns * cell + 90;
    const H = topMargin + rows * cell + 20;
    heatmap.setAttribute("viewBox", `0 0 ${W} ${H}`);
    heatmap.style.maxWidth = `${Math.max(420, W)}px`;

    for (let j = 0; j < columns; j++) {
      const x = leftMargin + (j + 0.5) * cell;
      heatmap.append(svg("text", { class: "palabra origen", x, y: topMargin - 8,
        transform: `rotate(-40 ${x} ${topMargin - 8})` }, source[j] ?? `#${j + 1}`));
    }
    for (let i = 0; i < rows; i++) {
      const y = topMargin + (i + 0.5) * cell;
      heatmap.append(svg("text", { class: "palabra destino", x: leftMargin - 8, y: y + 5,
        "text-anchor": "end" }, target[i] ?? `#${i + 1}`));
      for (let j = 0; j < columns; j++) {
        const p = Number(weights[i][j]) || 0;
        const rect = svg("rect", { class: "celda", x: leftMargin + j * cell,
          y: topMargin + i * cell, width: cell - 1, height: cell - 1, fill: weightColor(p),
          "data-i": i, "data-j": j, "data-peso": p.toFixed(4) });
        rect.append(svg("title", {}, `«${target[i] ?? i}» → «${source[j] ?? j}»: ` +
          formatNumber(p, 2)));
        heatmap.append(rect);
        heatmap.append(svg("text", { class: "valor-celda", x: leftMargin + (j + 0.5) * cell,
          y: topMargin + (i + 0.5) * cell + 4, "text-anchor": "middle",
          style: `fill: ${p > 0.55 ? "#ffffff" : "#1d2433"}` }, formatNumber(p, 2)));
      }
    }

    // Leyenda de la escala 0–1
    const lx = leftMargin + columns * cell + 30;
    const defs = svg("defs");
    const gradient = svg("linearGradient", { id: "escala-atencion", x1: 0, y1: 1, x2: 0,
      y2: 0 });
    for (let k = 0; k <= 4; k++) {
      gradient.append(svg("stop", { offset: `${k * 25}%`, "stop-color": weightColor(k / 4) }));
    }
    defs.append(gradient);
    heatmap.append(defs);
    const scaleHeight = Math.min(rows * cell, 200);
    heatmap.append(svg("rect", { x: lx, y: topMargin, width: 14, height: scaleHeight,
      fill: "url(#escala-atencion)", stroke: "#b8bfcc" }));
    heatmap.append(svg("text", { x: lx + 20, y: topMargin + 10 }, "1"));
    heatmap.append(svg("text", { x: lx + 20, y: topMargin + scaleHeight }, "0"));

    heatmap.dataset.filas = String(rows);
    heatmap.dataset.columnas = String(columns);
    $("figura-atencion").hidden = false;
  }

  async function translate() {
    const text = $("texto-traduccion").value.trim();
    clearError("traduccion");
    if (!text) {
      showError("traduccion", "Escribe un número en palabras, por ejemplo «ciento veinte».");
      return;
    }
    const seq = ++state.requestSeq.traduccion;
    setLoading("traduccion", true);
    try {
      const response = await callApiJson(withModel("traducir", "traduccion", { atencion: "1" }), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ texto: text }),
      });
      if (seq !== state.requestSeq.traduccion) return;
      const output = $("resultado-traduccion");
      output.textContent = String(response.traduccion ?? "");
      output.dataset.texto = text;
      $("linea-traduccion").hidden = false;
      drawAttention(response.atencion);
    } catch (e) {
      if (seq !== state.requestSeq.traduccion) return;
      showError("traduccion", failureMessage(`traducir «${text}»`, "traducir", text, e));
      $("resultado-traduccion").textContent = "";
      $("linea-traduccion").hidden = true;
      drawAttention(null);
    } finally {
      if (seq === state.requestSeq.traduccion) setLoading("traduccion", false);
    }
  }

  function initTranslation() {
    $("formulario-traduccion").addEventListener("submit", (ev) => {
      ev.preventDefault();
      translate();
    });
  }

  // === Clave de acceso ===
  function initAccessKey() {
    $("clave").value = sessionStorage.getItem("redes-clave") || "";
    $("formulario-clave").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const accessKey = $("clave").value.trim();
      if (accessKey) sessionStorage.setItem("redes-clave", accessKey);
      else sessionStorage.removeItem("redes-clave");
      for (const task of TASKS) clearError(task);
      loadModels();
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    initTabs();
    initDetection();
    initSales();
    initTranslation();
    initAccessKey();
    loadModels();
  });
})();
