// Debian's headless Chromium against `edgelm serve`: it loads the device page
// at "/", a command is typed into the page and sent with a click, and the
// state panel must then show the values the server's device endpoint gives
// for that command, with the changed rows marked. The page is driven over the
// DevTools protocol on a pipe (--remote-debugging-pipe), so nothing beyond
// node and the browser is needed. A screenshot of the page after the command
// is kept as the test's artefact. Usage: node browser.mjs EDGELM MODEL OUT_DIR
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { COMMANDS, check, equal, finish, postJson, startServer } from "./serve.mjs";

const [edgelm, modelPath, outDir] = process.argv.slice(2);
if (!edgelm || !modelPath || !outDir) {
  console.error("usage: node browser.mjs EDGELM MODEL OUT_DIR");
  process.exit(2);
}
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The DevTools protocol over Chromium's pipe: JSON messages ending in a NUL
// byte, written to its fd 3 and read from its fd 4.
class Browser {
  constructor() {
    this.profile = mkdtempSync(join(tmpdir(), "edgelm-chromium-"));
    // The flags keep a headless run from reaching out (the test machines have no network).
    const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1100,760",
                   `--user-data-dir=${this.profile}`, "--remote-debugging-pipe", "about:blank"];
    this.proc = spawn(chromium, flags, { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe"] });
    this.stderr = "";
    this.proc.stderr.on("data", (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.next = 1;
    this.waiting = new Map();
    this.listeners = [];
    let buffer = Buffer.alloc(0);
    this.proc.stdio[4].on("data", (data) => {
      buffer = Buffer.concat([buffer, data]);
      for (let end = buffer.indexOf(0); end >= 0; end = buffer.indexOf(0)) {
        const message = JSON.parse(buffer.subarray(0, end).toString("utf8"));
        buffer = buffer.subarray(end + 1);
        if (message.id && this.waiting.has(message.id)) {
          const { resolve, reject } = this.waiting.get(message.id);
          this.waiting.delete(message.id);
          if (message.error) reject(new Error(`${JSON.stringify(message.error)}`));
          else resolve(message.result);
        } else {
          for (const l of this.listeners) l(message);
        }
      }
    });
    this.exited = new Promise((r) => this.proc.on("exit", r));
  }
  send(method, params = {}, sessionId = undefined) {
    const id = this.next++;
    const message = JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in 30 s; chromium said: ${this.stderr}`)), 30000);
      this.waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.proc.stdio[3].write(message + "\0");
    });
  }
  async close() {
    try {
      await this.send("Browser.close");
    } catch {
      this.proc.kill("SIGKILL");
    }
    await Promise.race([this.exited, sleep(10000)]);
    rmSync(this.profile, { recursive: true, force: true });
  }
}

// A page of the browser: evaluate, wait for a condition, click, type.
class Page {
  constructor(browser, sessionId) {
    this.browser = browser;
    this.sessionId = sessionId;
  }
  send(method, params) {
    return this.browser.send(method, params, this.sessionId);
  }
  async eval(expression) {
    const r = await this.send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  }
  async waitFor(expression, what, timeoutMs = 30000) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await this.eval(expression);
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(50);
    }
  }
  async click(selector) {
    const box = await this.eval(`(() => { const r = document.querySelector(${JSON.stringify(selector)}).getBoundingClientRect();
                                          return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()`);
    for (const type of ["mousePressed", "mouseReleased"])
      await this.send("Input.dispatchMouseEvent", { type, x: box.x, y: box.y, button: "left", clickCount: 1 });
  }
}

const panelRows = `Object.fromEntries([...document.querySelectorAll("#state tr")].filter((r) => r.dataset.field)
                     .map((r) => [r.dataset.field, r.cells[1].textContent]))`;
const changedRows = `[...document.querySelectorAll("#state tr.changed")].map((r) => r.dataset.field)`;
function flatten(state) {
  const out = {};
  for (const [name, value] of Object.entries(state || {}))
    if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) out[`${name}.${k}`] = String(v);
    else out[name] = String(value);
  return out;
}

const server = await startServer(edgelm, modelPath);
let browser;
try {
  // A command whose answer changes the device (the tiny test model does not get every one right).
  let command, expected;
  for (const text of COMMANDS) {
    const r = await postJson(server, "/v1/device/command", { messages: [{ role: "user", content: text }] });
    if (r.status === 200 && JSON.stringify(r.body.state) !== JSON.stringify(r.body.state_before)) {
      command = text;
      expected = r.body;
      break;
    }
  }
  if (!check(command !== undefined, "the model has a command that changes the device's state"))
    throw new Error("no command changed the state");

  browser = new Browser();
  const { targetInfos } = await browser.send("Target.getTargets");
  const target = targetInfos.find((t) => t.type === "page");
  const { sessionId } = await browser.send("Target.attachToTarget", { targetId: target.targetId, flatten: true });
  const page = new Page(browser, sessionId);
  const errors = [];
  browser.listeners.push((m) => {
    if (m.sessionId !== sessionId) return;
    if (m.method === "Runtime.exceptionThrown") errors.push(m.params.exceptionDetails.exception?.description || m.params.exceptionDetails.text);
    if (m.method === "Runtime.consoleAPICalled" && m.params.type === "error") errors.push(m.params.args.map((a) => a.value).join(" "));
    if (m.method === "Network.loadingFailed") errors.push(`loading failed: ${m.params.errorText}`);
    if (m.method === "Network.requestWillBeSent" && !m.params.request.url.startsWith(server.url)) errors.push(`fetched from elsewhere: ${m.params.request.url}`);
  });
  await page.send("Runtime.enable");
  await page.send("Network.enable");
  await page.send("Page.enable");
  await page.send("Page.navigate", { url: server.url + "/" });

  // The page draws the device from GET /v1/device.
  const device = await (await fetch(server.url + "/v1/device")).json();
  await page.waitFor(`document.querySelectorAll("#state tr[data-field]").length > 0`, "the state panel");
  equal(await page.eval(`document.getElementById("device-name").textContent`), device.name, "the page names the device");
  equal(await page.eval(panelRows), flatten(device.state), "the state panel shows the initial state");
  equal(await page.eval(`document.querySelectorAll("#functions .fn").length`), device.tools.length, "the page lists the device's functions");

  // Type the command and click Send, as a person would.
  await page.click("#command");
  await page.send("Input.insertText", { text: command });
  await page.click("#send");
  await page.waitFor(`document.querySelector("#log .turn .reply, #log .turn .error") !== null`, "the answer on the page");
  check(await page.eval(`document.querySelector("#log .turn .error") === null`), "the page shows no error",
        await page.eval(`document.querySelector("#log .turn .error")?.textContent || ""`));
  equal(await page.eval(`document.querySelector("#log .turn .reply").textContent`), expected.reply, `'${command}': the page shows the reply`);
  equal(await page.eval(`[...document.querySelectorAll("#log .turn .call")].length`), expected.calls.length, `'${command}': the page shows the calls`);
  equal(await page.eval(panelRows), flatten(expected.state), `'${command}': the state panel shows the state the command left`);
  const before = flatten(expected.state_before), after = flatten(expected.state);
  const changed = Object.keys(after).filter((k) => before[k] !== after[k]);
  check(changed.length > 0, `'${command}': the state changed`);
  equal(await page.eval(changedRows), changed, `'${command}': the state panel marks exactly the changed rows`);
  equal(errors, [], "no script error, failed load or request elsewhere");

  const shot = await page.send("Page.captureScreenshot", { format: "png" });
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, "device_page.png");
  writeFileSync(file, Buffer.from(shot.data, "base64"));
  check(shot.data.length > 1000, `screenshot kept: ${file}`);
} catch (e) {
  check(false, "the browser run", e.stack || String(e));
} finally {
  if (browser) await browser.close();
  const exit = await server.stop();
  equal(exit, { code: 0, signal: null }, "SIGTERM: the server exits 0");
}
finish();
