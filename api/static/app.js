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
  if (on) $("question").focus();
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
    return el("tr", {}, el("td", { text: r.treatment }), el("td", { text: String(r.n_cases) }),
      el("td", { text: o ? o.measure : "-" }), el("td", { text: o ? fmt(o.median_change) : "-" }),
      el("td", { text: o && o.improved_share != null ? Math.round(o.improved_share * 100) + "%" : "-" }),
      el("td", { text: o ? String(o.months) : "-" }), el("td", { text: String(r.adverse_events) }),
      el("td", { text: r.case_ids.join(", ") }));
  });
  return el("table", { class: "evidence" }, el("thead", {}, head), el("tbody", {}, ...rows));
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
  if (answer.evidence.table.length) box.root.append(el("h3", { text: t("evidence") }), evidenceTable(answer.evidence));
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
    b.addEventListener("click", () => { state.lang = b.dataset.lang; sessionStorage.setItem("cw_lang", state.lang); applyLanguage(); });
  }
  showChat(Boolean(state.key));
});
