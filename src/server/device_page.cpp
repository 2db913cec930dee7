// The device page: one HTML document, with its style and script inline, that
// asks GET /v1/device what the device is (functions, state fields, initial
// state) and draws it, then sends each command with the conversation so far
// to POST /v1/device/command and shows the calls, the reply and the state,
// marking what changed. Nothing is fetched from anywhere but this server, and
// nothing is written per device. Text from the server is only ever set as
// textContent, never parsed as HTML.
#include "server/server.h"

namespace edgelm::server {

const std::string& device_page_html() {
  static const std::string html = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgelm device</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 12px 20px; }
  header h1 { margin: 0; font-size: 20px; }
  header p { margin: 4px 0 0; color: #c5cbd6; font-size: 14px; }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; padding: 16px 20px; }
  section { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  form { display: flex; gap: 8px; }
  input[type=text] { flex: 1; font-size: 16px; padding: 8px; border: 1px solid #b8bfcc; border-radius: 6px; }
  button, select { font-size: 15px; padding: 8px 12px; border-radius: 6px; border: 1px solid #b8bfcc; background: #fff; cursor: pointer; }
  button.primary { background: #2557d6; color: #fff; border-color: #2557d6; }
  button.listening { background: #d62525; color: #fff; }
  #log { margin-top: 12px; max-height: 60vh; overflow-y: auto; }
  .turn { border-top: 1px solid #e3e6ec; padding: 8px 0; }
  .you { font-weight: 600; }
  .call { font-family: ui-monospace, monospace; background: #eef2fb; border-radius: 4px; padding: 2px 6px; margin: 4px 4px 0 0; display: inline-block; }
  .reply { margin-top: 4px; }
  .error { color: #b00020; margin-top: 4px; }
  .meta { color: #6b7385; font-size: 12px; }
  table { border-collapse: collapse; width: 100%; }
  td { padding: 4px 6px; border-bottom: 1px solid #eef0f4; font-size: 14px; }
  td.value { font-family: ui-monospace, monospace; }
  tr.changed td { background: #fff4c2; transition: background 0.3s; }
  details { margin-top: 12px; font-size: 13px; }
  .fn { margin: 4px 0; } .fn code { font-weight: 600; }
  @media (max-width: 800px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header><h1 id="device-name">edgelm device</h1><p id="device-description">loading the device…</p></header>
<main>
  <section>
    <h2>Command</h2>
    <form id="command-form">
      <input type="text" id="command" autocomplete="off" placeholder="type a command (English or Korean)" required>
      <button type="submit" class="primary" id="send">Send</button>
      <button type="button" id="mic" hidden title="speak a command">🎤</button>
      <select id="lang" hidden title="speech language"><option value="en-US">English</option><option value="ko-KR">한국어</option></select>
    </form>
    <div class="meta"><button type="button" id="reset">New conversation</button> <span id="status"></span></div>
    <div id="log"></div>
  </section>
  <section>
    <h2>Device state</h2>
    <table id="state"></table>
    <details><summary>Functions</summary><div id="functions"></div></details>
  </section>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let messages = [];   // the conversation so far, in the OpenAI form
let shown = {};      // flattened state last drawn: "field" or "field.key" -> text

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function flatten(state) {
  const out = {};
  for (const [name, value] of Object.entries(state || {})) {
    if (value !== null && typeof value === "object")
      for (const [key, v] of Object.entries(value)) out[name + "." + key] = String(v);
    else out[name] = String(value);
  }
  return out;
}
function drawState(state) {
  const flat = flatten(state), table = $("state");
  table.replaceChildren();
  for (const [name, value] of Object.entries(flat)) {
    const row = el("tr");
    row.dataset.field = name;
    if (name in shown && shown[name] !== value) row.className = "changed";
    row.append(el("td", name), el("td", value, "value"));
    table.append(row);
  }
  if (Object.keys(flat).length === 0) {
    const row = el("tr");
    row.append(el("td", "this device keeps no state"));
    table.append(row);
  }
  shown = flat;
}
function callText(call) {
  const args = Object.entries(call.arguments || {}).map(([k, v]) => k + "=" + JSON.stringify(v));
  return call.name + "(" + args.join(", ") + ")";
}
function drawFunctions(tools) {
  const box = $("functions");
  for (const t of tools) {
    const f = t.function, d = el("div", undefined, "fn");
    d.append(el("code", f.name), document.createTextNode(" " + Object.keys((f.parameters || {}).properties || {}).join(", ")));
    if (f.description) d.append(el("div", f.description, "meta"));
    box.append(d);
  }
}
async function loadDevice() {
  const r = await fetch("/v1/device");
  const d = await r.json();
  $("device-name").textContent = d.name || "device";
  $("device-description").textContent = d.description || "";
  document.title = "edgelm: " + (d.name || "device");
  drawFunctions(d.tools || []);
  shown = {};
  drawState(d.state);
  return d;
}
async function send(text) {
  const turn = el("div", undefined, "turn");
  turn.append(el("div", "you: " + text, "you"));
  $("log").prepend(turn);
  $("status").textContent = "thinking…";
  const body = { messages: messages.concat([{ role: "user", content: text }]) };
  try {
    const r = await fetch("/v1/device/command", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const a = await r.json();
    if (!r.ok) { turn.append(el("div", (a.error && a.error.message) || ("HTTP " + r.status), "error")); return; }
    const calls = el("div");
    for (const c of a.calls) calls.append(el("span", callText(c), "call"));
    if (a.calls.length === 0) calls.append(el("span", "no call", "meta"));
    turn.append(calls, el("div", a.reply, "reply"));
    if (a.error) turn.append(el("div", a.error, "error"));
    turn.append(el("div", a.tokens_generated + " tokens, " + a.latency_ms.toFixed(1) + " ms", "meta"));
    messages = body.messages.concat([{ role: "assistant", content: a.reply,
      tool_calls: a.calls.map((c) => ({ type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } })) }]);
    drawState(a.state);
  } catch (e) {
    turn.append(el("div", String(e), "error"));
  } finally {
    $("status").textContent = "";
  }
}
$("command-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("command").value.trim();
  if (!text) return;
  $("command").value = "";
  send(text);
});
$("reset").addEventListener("click", () => { messages = []; $("log").replaceChildren(); loadDevice(); });

// Speech, where the browser offers it: the transcript becomes the command.
const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
if (Recognition) {
  $("mic").hidden = false;
  $("lang").hidden = false;
  $("lang").value = (navigator.language || "").startsWith("ko") ? "ko-KR" : "en-US";
  $("mic").addEventListener("click", () => {
    const rec = new Recognition();
    rec.lang = $("lang").value;
    rec.interimResults = false;
    rec.onstart = () => $("mic").classList.add("listening");
    rec.onend = () => $("mic").classList.remove("listening");
    rec.onerror = (e) => { $("status").textContent = "speech: " + e.error; };
    rec.onresult = (e) => { const text = e.results[0][0].transcript; $("command").value = text; send(text); };
    rec.start();
  });
}
loadDevice().catch((e) => { $("device-description").textContent = "cannot load the device: " + e; });
</script>
</body>
</html>
)HTML";
  return html;
}

}  // namespace edgelm::server
