// Casewise chat page: no build step, no inline script (CSP), all text via textContent (no HTML from data).
"use strict";

const I18N = {
  es: {
    tagline: "¿Qué funcionó en pacientes como este?", signin_title: "Iniciar sesión",
    signin_help: "Introduzca su clave de API. Se guarda solo en esta pestaña.", apikey: "Clave de API",
    signin: "Entrar", signout: "Salir", filters: "Filtros", diagnosis: "Diagnóstico", treatment: "Tratamiento",
    sex: "Sexo", any: "Cualquiera", female: "Mujer", male: "Hombre", show_reasoning: "Mostrar razonamiento",
    deid_note: "Las preguntas se des-identifican antes de buscarse y quedan registradas en la auditoría.",
    ask: "Preguntar", placeholder: "Describa al paciente y pregunte qué funcionó…",
    evidence: "Evidencia: qué se hizo en casos similares y cómo evolucionó", cases: "Casos citados",
    th_treatment: "Tratamiento", th_cases: "Casos", th_measure: "Medida", th_change: "Cambio mediano",
    th_improved: "Mejoraron", th_months: "Meses", th_adverse: "Adversos", th_ids: "Casos",
    no_reasoning: "Sin razonamiento del modelo (respuesta basada en la evidencia).", reasoning: "Razonamiento",
    bad_key: "Clave no válida o revocada.", error: "Error", loading: "Cargando…", thinking_now: "Buscando casos similares…",
    sex_age: "Sexo/edad", diagnoses: "Diagnósticos", treatments: "Tratamientos", outcomes: "Resultados",
    adverse: "Efectos adversos", summary: "Resumen", flags: "Avisos", mode: "modo",
    understood: "Entendido como", cohort: "Todos los casos de la clínica que coinciden",
    nearest: "Lo más cercano registrado, no lo que se preguntó", th_n: "n", th_iqr: "RIC",
    th_mcid: "Alcanzó la DMCI", plot: "Cambio mediano (RIC) a lo largo del tiempo", months_axis: "meses",
    chip_intent: "intención", chip_condition: "afección", chip_arm: "tratamiento", chip_prior: "previo",
    chip_excluded: "excluido", chip_measure: "escala", chip_time: "meses", chip_sex: "sexo", chip_age: "edad",
    chip_grade: "grado", chip_sessions: "sesiones",
  },
  en: {
    tagline: "What worked for patients like this one?", signin_title: "Sign in",
    signin_help: "Enter your API key. It is kept only in this tab.", apikey: "API key",
    signin: "Sign in", signout: "Sign out", filters: "Filters", diagnosis: "Diagnosis", treatment: "Treatment",
    sex: "Sex", any: "Any", female: "Female", male: "Male", show_reasoning: "Show reasoning",
    deid_note: "Questions are de-identified before they are searched, and every question is audited.",
    ask: "Ask", placeholder: "Describe the patient and ask what worked…",
    evidence: "Evidence: what was done for similar cases and how it turned out", cases: "Cited cases",
    th_treatment: "Treatment", th_cases: "Cases", th_measure: "Measure", th_change: "Median change",
    th_improved: "Improved", th_months: "Months", th_adverse: "Adverse", th_ids: "Case ids",
    no_reasoning: "No model reasoning (answer written from the evidence).", reasoning: "Reasoning",
    bad_key: "Unknown or revoked key.", error: "Error", loading: "Loading…", thinking_now: "Finding similar cases…",
    sex_age: "Sex/age", diagnoses: "Diagnoses", treatments: "Treatments", outcomes: "Outcomes",
    adverse: "Adverse events", summary: "Summary", flags: "Flags", mode: "mode",
    understood: "Understood as", cohort: "Every matching case of the clinic",
    nearest: "The nearest that is recorded, not what was asked", th_n: "n", th_iqr: "IQR",
    th_mcid: "Reached the MCID", plot: "Median change (IQR) over time", months_axis: "months",
    chip_intent: "intent", chip_condition: "condition", chip_arm: "treatment", chip_prior: "prior",
    chip_excluded: "excluded", chip_measure: "scale", chip_time: "months", chip_sex: "sex", chip_age: "age",
    chip_grade: "grade", chip_sessions: "sessions",
  },
};

const state = {
  lang: sessionStorage.getItem("cw_lang") || ((navigator.language || "es").startsWith("en") ? "en" : "es"),
  key: sessionStorage.getItem("cw_key") || "",
};
const $ = (id) => document.getElementById(id);
const t = (k) => (I18N[state.lang] || I18N.en)[k] || k;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const c of children) if (c != null) node.append(c);
  return node;
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $("question").placeholder = t("placeholder");
  for (const b of document.querySelectorAll(".lang button")) b.classList.toggle("on", b.dataset.lang === state.lang);
}

function headers() { return { "Authorization": "Bearer " + state.key, "Content-Type": "application/json" }; }

async function errorText(resp) {
  try { const body = await resp.json(); return body.error ? body.error.message : resp.statusText; }
  catch (_) { return resp.statusText; }
}

function showChat(on) {
  $("signin").hidden = on; $("chat").hidden = !on; $("signout").hidden = !on;
  if (on) { $("question").focus(); loadPickers(); }
}

// The filters' pickers: the clinic's diagnoses and treatments, named in the page's language (the value is the id).
const vocab = { terms: null };
async function loadPickers() {
  if (!vocab.terms) {
    const resp = await fetch("/v1/vocabulary", { headers: headers() });
    if (!resp.ok) return;
    vocab.terms = await resp.json();
  }
  const fill = (list, terms) => $(list).replaceChildren(...terms.map((x) => el("option", {
    value: x.id, label: (state.lang === "es" ? x.label_es : x.label_en) + (x.icd10 ? " (" + x.icd10 + ")" : "") })));
  fill("dl-diagnosis", vocab.terms.diagnoses);
  fill("dl-treatment", vocab.terms.treatments);
}

async function signIn(ev) {
  ev.preventDefault();
  const key = $("apikey").value.trim();
  const resp = await fetch("/v1/models", { headers: { "Authorization": "Bearer " + key } });
  if (!resp.ok) { $("signin-error").textContent = t("bad_key"); $("signin-error").hidden = false; return; }
  state.key = key; sessionStorage.setItem("cw_key", key); $("apikey").value = ""; $("signin-error").hidden = true;
  showChat(true);
}

function signOut() { sessionStorage.removeItem("cw_key"); state.key = ""; $("messages").replaceChildren(); showChat(false); }

function filters() {
  const f = {};
  const d = $("f-diagnosis").value.trim(), tr = $("f-treatment").value.trim(), s = $("f-sex").value;
  if (d) f.diagnoses = d.split(",").map((x) => x.trim()).filter(Boolean);
  if (tr) f.treatments = tr.split(",").map((x) => x.trim()).filter(Boolean);
  if (s) f.sex = s;
  return Object.keys(f).length ? f : null;
}

// Parse a text/event-stream body from fetch: yields {event, data} objects.
async function* sseEvents(resp) {
  const reader = resp.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut); buf = buf.slice(cut + 2);
      let event = "message"; const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

function fmt(n, digits = 1) { return n == null ? "-" : (n > 0 ? "+" : "") + n.toFixed(digits); }

function evidenceTable(evidence) {
  const head = el("tr", {}, ...["th_treatment", "th_cases", "th_measure", "th_change", "th_improved", "th_months",
    "th_adverse", "th_ids"].map((k) => el("th", { text: t(k) })));
  const rows = evidence.table.map((r) => {
    const o = r.outcomes[0];
    return el("tr", {}, el("td", { text: (evidence.labels || {})[r.treatment] || r.treatment }), el("td", { text: String(r.n_cases) }),
      el("td", { text: o ? o.measure : "-" }), el("td", { text: o ? fmt(o.median_change) : "-" }),
      el("td", { text: o && o.improved_share != null ? Math.round(o.improved_share * 100) + "%" : "-" }),
      el("td", { text: o ? String(o.months) : "-" }), el("td", { text: String(r.adverse_events) }),
      el("td", { text: r.case_ids.join(", ") }));
  });
  return el("table", { class: "evidence" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

// The plan as chips, the whole-store cohort as a table and its outcome over time as a plot, in the answer's language.
function tl(lang, key) { return (I18N[lang] || I18N.en)[key] || key; }

function planChips(plan, labels, lang) {
  const name = (id) => labels[id] || id.replace(/_/g, " ");
  const intent = (i) => labels["intent:" + i] || i.replace(/_/g, " ");
  const chips = [["chip_intent", [plan.intent, ...(plan.also || [])].map(intent).join(" + ")]];
  plan.conditions.forEach((c) => chips.push(["chip_condition", name(c.id) + (c.icd10 ? " (" + c.icd10 + ")" : "")]));
  plan.unknown_conditions.forEach((c) => chips.push(["chip_condition", name(c) + " ?"]));
  const p = plan.profile;
  if (p.sex) chips.push(["chip_sex", labels["sex:" + p.sex] || p.sex]);
  if (p.age != null) chips.push(["chip_age", String(p.age)]);
  if (p.age_min != null || p.age_max != null) chips.push(["chip_age", `${p.age_min ?? ""}–${p.age_max ?? ""}`]);
  if (p.severity != null) chips.push(["chip_grade", "KL" + p.severity]);
  plan.prior_treatments.forEach((x) => chips.push(["chip_prior", name(x)]));
  plan.exclusions.forEach((x) => chips.push(["chip_excluded", name(x)]));
  plan.treatments.forEach((x) => chips.push(["chip_arm", name(x)]));
  plan.measures.concat(plan.unrecorded_measures).forEach((m) => chips.push(["chip_measure", m]));
  if (plan.time_points.length) chips.push(["chip_time", plan.time_points.join(", ")]);
  if (plan.sessions != null) chips.push(["chip_sessions", String(plan.sessions)]);
  return el("div", { class: "chips", "aria-label": tl(lang, "understood") },
    ...chips.map(([k, v]) => el("span", { class: "chip", "data-kind": k.slice(5) },
      el("b", { text: tl(lang, k) + ": " }), v)));
}

function cohortTable(cohort, labels, lang, plan) {
  // The asked scales and time points only, when the question names them (every recorded one otherwise).
  const measures = plan ? plan.measures.filter((m) => cohort.measures_recorded.includes(m)) : [];
  const months = plan ? plan.time_points.filter((m) => cohort.time_points_recorded.includes(m)) : [];
  const keep = (s) => (!measures.length || measures.includes(s.measure)) && (!months.length || months.includes(s.months));
  const head = el("tr", {}, ...["th_treatment", "th_cases", "th_measure", "th_months", "th_n", "th_change", "th_iqr",
    "th_mcid"].map((k) => el("th", { text: tl(lang, k) })));
  const num = (x) => (lang === "es" ? fmt(x).replace(".", ",") : fmt(x));
  const rows = [];
  for (const a of cohort.arms) {
    const kept = a.stats.filter(keep);
    const stats = kept.length ? kept : [null];
    for (const s of stats) {
      rows.push(el("tr", {}, el("td", { text: labels[a.treatment] || a.treatment }), el("td", { text: String(a.n_cases) }),
        el("td", { text: s ? s.measure : "-" }), el("td", { text: s ? String(s.months) : "-" }),
        el("td", { text: s ? String(s.n) : "-" }), el("td", { text: s ? num(s.median_change) : "-" }),
        el("td", { text: s && s.iqr ? num(s.iqr[0]) + " … " + num(s.iqr[1]) : "-" }),
        el("td", { text: s && s.mcid_share != null ? Math.round(s.mcid_share * 100) + "%" : "-" })));
    }
  }
  return el("table", { class: "cohort" }, el("thead", {}, head), el("tbody", {}, ...rows));
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function outcomePlot(cohort, labels, lang, measure) {
  const arms = cohort.arms.map((a) => [a, a.stats.filter((s) => s.measure === measure)]).filter(([, st]) => st.length);
  if (!arms.length) return null;
  const all = arms.flatMap(([, st]) => st.flatMap((s) => [s.median_change, ...(s.iqr || [])])).concat([0]);
  const maxM = Math.max(...arms.flatMap(([, st]) => st.map((s) => s.months)));
  const lo = Math.min(...all), hi = Math.max(...all);
  const W = 520, H = 240, L = 44, R = 150, T = 14, B = 30;
  const x = (m) => L + (m / (maxM || 1)) * (W - L - R);
  const y = (v) => T + ((hi - v) / ((hi - lo) || 1)) * (H - T - B);
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];
  const root = svg("svg", { class: "plot", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" });
  const title = svg("title"); title.textContent = `${tl(lang, "plot")} (${measure})`; root.append(title);
  root.append(svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), stroke: "#999", "stroke-dasharray": "3 3" }));
  for (const v of [hi, 0, lo]) {
    const lab = svg("text", { x: L - 6, y: y(v) + 4, "font-size": 10, "text-anchor": "end" });
    lab.textContent = lang === "es" ? fmt(v).replace(".", ",") : fmt(v); root.append(lab);
  }
  const axis = svg("text", { x: (W - R) / 2, y: H - 6, "font-size": 11, "text-anchor": "middle" });
  axis.textContent = tl(lang, "months_axis"); root.append(axis);
  arms.forEach(([a, st], i) => {
    const c = colors[i % colors.length];
    const pts = [[0, 0], ...st.map((s) => [s.months, s.median_change])];
    root.append(svg("polyline", { points: pts.map(([m, v]) => `${x(m)},${y(v)}`).join(" "), fill: "none",
      stroke: c, "stroke-width": 2, "data-arm": a.treatment }));
    st.forEach((s) => {
      if (s.iqr) root.append(svg("line", { x1: x(s.months), x2: x(s.months), y1: y(s.iqr[0]), y2: y(s.iqr[1]), stroke: c }));
      root.append(svg("circle", { cx: x(s.months), cy: y(s.median_change), r: 3, fill: c }));
      const tick = svg("text", { x: x(s.months), y: H - B + 14, "font-size": 10, "text-anchor": "middle" });
      tick.textContent = String(s.months); root.append(tick);
    });
    const key = svg("text", { x: W - R + 8, y: T + 14 * (i + 1), "font-size": 11, fill: c });
    key.textContent = labels[a.treatment] || a.treatment; root.append(key);
  });
  return el("figure", { class: "plot" }, el("figcaption", { text: `${tl(lang, "plot")} · ${measure}` }), root);
}

function renderPlan(box, answer) {
  const lang = answer.language, labels = answer.labels || {};
  if (answer.plan) box.root.append(planChips(answer.plan, labels, lang));
  const asked = answer.evidence && answer.evidence.cohort;
  const nearest = answer.evidence && answer.evidence.nearest_cohort;
  // Nothing has what was asked: the asked condition's other cases, titled as the nearest recorded, not as the answer.
  const cohort = asked && asked.n_cases ? asked : nearest;
  if (!cohort || !cohort.n_cases || !cohort.arms.length) return;
  const title = cohort === nearest ? tl(lang, "nearest") : tl(lang, "cohort");
  box.root.append(el("h3", { text: `${title} (${cohort.n_cases})` }), cohortTable(cohort, labels, lang, answer.plan));
  const scales = answer.plan ? answer.plan.measures.filter((m) => cohort.measures_recorded.includes(m)) : [];
  const measure = scales[0] || (cohort.measures_recorded.includes("VAS") ? "VAS" : cohort.measures_recorded[0]);
  const intent = answer.plan ? answer.plan.intent : "";
  if (measure && ["compare", "what_worked", "outcome_over_time", "similar_cases"].includes(intent)) {
    const plot = outcomePlot(cohort, labels, lang, measure);
    if (plot) box.root.append(plot);
  }
}

function caseBody(c) {
  const dl = el("dl");
  const add = (k, v) => { if (v) dl.append(el("dt", { text: t(k) }), el("dd", { text: v })); };
  add("sex_age", `${c.sex || "?"} / ${c.age_band || "?"}`);
  add("diagnoses", c.diagnoses.map((d) => d.label || d.name).join(", "));
  add("treatments", c.treatments.map((x) => x.label || x.name).join(", "));
  add("outcomes", c.outcomes.map((o) => `${o.measure} ${o.months}m: ${o.value}`).join("; "));
  add("adverse", c.adverse_events.join("; "));
  add("summary", c.summary);
  return dl;
}

function caseCard(sc) {
  const c = sc.case;
  const sub = c ? `${c.sex || "?"} ${c.age_band || ""} · ${c.diagnoses.map((d) => d.name).join(", ")}` : "";
  const body = el("div", { class: "body" });
  const card = el("details", { class: "case", "data-case": sc.case_id },
    el("summary", {}, sc.case_id, el("span", { class: "sub", text: sub })), body);
  card.addEventListener("toggle", async () => {
    if (!card.open || card.dataset.loaded) return;
    body.textContent = t("loading");
    const resp = await fetch("/v1/cases/" + encodeURIComponent(sc.case_id), { headers: headers() });
    if (!resp.ok) { body.textContent = t("error") + ": " + await errorText(resp); return; }
    const data = await resp.json();
    card.dataset.loaded = "1";
    body.replaceChildren(caseBody(data.case));
  });
  return card;
}

function renderAnswer(box, answer) {
  box.text.textContent = answer.text;
  if (answer.flags.length) box.root.append(el("div", { class: "flags", text: t("flags") + ": " + answer.flags.join(", ") }));
  const thinking = el("div", { class: "thinking", text: answer.thinking || t("no_reasoning") });
  thinking.hidden = !$("show-thinking").checked;
  box.root.append(thinking);
  renderPlan(box, answer);
  if (answer.evidence.table.length) {
    box.root.append(el("h3", { text: t("evidence") }), evidenceTable({ ...answer.evidence, labels: answer.labels }));
  }
  const cited = new Set(answer.citations.filter((c) => c.valid).map((c) => c.case_id));
  const cards = answer.evidence.cases.filter((c) => cited.has(c.case_id)).map(caseCard);
  if (cards.length) box.root.append(el("h3", { text: t("cases") }), el("div", { class: "cases" }, ...cards));
  box.root.append(el("div", { class: "meta", text: `${t("mode")}: ${answer.mode}${answer.model ? " · " + answer.model : ""} · ${answer.notice}` }));
}

async function ask(ev) {
  ev.preventDefault();
  const question = $("question").value.trim();
  if (!question) return;
  $("messages").append(el("div", { class: "msg user", text: question }));
  const text = el("div", { class: "text", text: t("thinking_now") });
  const root = el("div", { class: "msg bot" }, text);
  $("messages").append(root);
  const box = { root, text };
  $("ask-btn").disabled = true; $("question").value = "";
  try {
    const body = { question, stream: true, language: state.lang };
    const f = filters(); if (f) body.filters = f;
    const resp = await fetch("/v1/ask", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    if (resp.status === 401) { signOut(); return; }
    if (!resp.ok) { text.textContent = t("error") + ": " + await errorText(resp); return; }
    let started = false;
    for await (const { event, data } of sseEvents(resp)) {
      if (event === "delta") { if (!started) { text.textContent = ""; started = true; } text.textContent += data.text; }
      else if (event === "answer") renderAnswer(box, data);
      else if (event === "error") text.textContent = t("error") + ": " + data.error.message;
      root.scrollIntoView({ block: "end" });
    }
  } catch (err) {
    text.textContent = t("error") + ": " + err;
  } finally {
    $("ask-btn").disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  applyLanguage();
  $("signin-form").addEventListener("submit", signIn);
  $("ask-form").addEventListener("submit", ask);
  $("signout").addEventListener("click", signOut);
  $("question").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("ask-form").requestSubmit(); });
  $("show-thinking").addEventListener("change", (e) => {
    document.querySelectorAll(".thinking").forEach((n) => { n.hidden = !e.target.checked; });
  });
  for (const b of document.querySelectorAll(".lang button")) {
    b.addEventListener("click", () => {
      state.lang = b.dataset.lang; sessionStorage.setItem("cw_lang", state.lang); applyLanguage();
      if (state.key && vocab.terms) loadPickers();
    });
  }
  showChat(Boolean(state.key));
});
