// What both client tests share: `edgelm serve` started as a child process on a
// free loopback port, stopped with SIGTERM (it must exit 0), and checks that
// count, print one line each and end the run with "N passed, N failed".
import { spawn } from "node:child_process";

let passed = 0;
let failed = 0;

// One check: a line "ok - what" or "not ok - what: detail".
export function check(ok, what, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok - ${what}`);
  } else {
    failed++;
    console.log(`not ok - ${what}${detail ? ": " + detail : ""}`);
  }
  return ok;
}

export function equal(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  return check(a === e, what, `got ${a}, expected ${e}`);
}

// Ends the run: the summary line, exit 1 on any failure (or none run).
export function finish() {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

// Runs `edgelm serve --port 0` and reads its port from the first line it prints.
export function startServer(edgelm, model, extraArgs = []) {
  const args = ["serve", "--model", model, "--port", "0", "--threads", "1", ...extraArgs];
  const proc = spawn(edgelm, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`edgelm serve did not start within 60 s (it printed '${out}')`));
    }, 60000);
    proc.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`edgelm serve exited at start (code ${code}, signal ${signal}; it printed '${out}')`));
    });
    proc.stdout.on("data", (chunk) => {
      out += chunk;
      const m = out.match(/http:\/\/([0-9.]+):(\d+)\//);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners("exit");
      const server = {
        proc,
        url: `http://${m[1]}:${m[2]}`,
        // SIGTERM: the server finishes what is in flight and exits 0.
        stop: () =>
          new Promise((done) => {
            const kill = setTimeout(() => proc.kill("SIGKILL"), 20000);
            proc.on("exit", (code, signal) => {
              clearTimeout(kill);
              done({ code, signal });
            });
            proc.kill("SIGTERM");
          }),
      };
      resolve(server);
    });
  });
}

// POST JSON to the server, as the device page does; the parsed answer and status.
export async function postJson(server, path, body) {
  const r = await fetch(server.url + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

// Commands for the air purifier, tried in this order where a test needs one
// whose answer does something (the tiny test model does not get all right).
export const COMMANDS = [
  "set a timer for 90 minutes",
  "turn it on",
  "sleep mode please",
  "turn it off",
  "set the fan speed to 3",
  "lock the buttons",
  "타이머 30분 맞춰줘",
  "what's the air quality",
];
