// The official `openai` package (pinned in package.json) against `edgelm serve`:
// tool calls, a multi-turn conversation that sends the client's own
// assistant messages (with tool_calls) back, the tool loop's last step,
// streaming (calls first, then the reply in pieces, as the non-streamed
// answer), max_tokens cutting the reply (finish_reason "length"), and errors
// as the client's typed exceptions. Usage: node openai_client.mjs EDGELM MODEL
import OpenAI from "openai";

import { COMMANDS, check, equal, finish, postJson, startServer } from "./serve.mjs";

const [edgelm, modelPath] = process.argv.slice(2);
if (!edgelm || !modelPath) {
  console.error("usage: node openai_client.mjs EDGELM MODEL");
  process.exit(2);
}

const server = await startServer(edgelm, modelPath, ["--parallel", "2"]);
const client = new OpenAI({ baseURL: server.url + "/v1", apiKey: "unused", maxRetries: 0, timeout: 60000 });
const user = (content) => ({ role: "user", content });
const callsOf = (message) =>
  (message.tool_calls || []).map((c) => ({ name: c.function.name, arguments: JSON.parse(c.function.arguments) }));

try {
  const models = await client.models.list();
  const model = models.data[0]?.id;
  check(typeof model === "string" && models.data.length === 1, "models.list names the one model", JSON.stringify(models.data));
  const device = await (await fetch(server.url + "/v1/device")).json();
  const tools = device.tools;
  const names = new Set(tools.map((t) => t.function.name));

  // Tool calls, with the device's tools list sent as a client sends it.
  const answers = [];
  for (const text of COMMANDS) {
    const r = await client.chat.completions.create({ model, messages: [user(text)], tools });
    const choice = r.choices[0];
    const m = choice.message;
    answers.push({ text, r });
    const shapeOk =
      r.object === "chat.completion" && m.role === "assistant" && r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens &&
      (m.tool_calls || []).every((c) => c.type === "function" && typeof c.id === "string" && names.has(c.function.name) &&
        typeof JSON.parse(c.function.arguments) === "object");
    const reason = choice.finish_reason === "length" || choice.finish_reason === (m.tool_calls?.length ? "tool_calls" : "stop");
    check(shapeOk && reason, `'${text}': a completion in OpenAI's shape`, JSON.stringify(r));
  }
  const acting = answers.find((a) => a.r.choices[0].message.tool_calls?.length);
  if (!check(acting !== undefined, "some command is answered with tool calls")) throw new Error("no command made a call");
  const ids = acting.r.choices[0].message.tool_calls.map((c) => c.id);
  check(new Set(ids).size === ids.length, "tool call ids are distinct", ids.join(" "));

  // tool_choice.
  const none = await client.chat.completions.create({ model, messages: [user(acting.text)], tool_choice: "none" });
  check(!none.choices[0].message.tool_calls?.length, "tool_choice none: no call");
  const quiet = answers.find((a) => !a.r.choices[0].message.tool_calls?.length) || acting;
  const required = await client.chat.completions.create({ model, messages: [user(quiet.text)], tools, tool_choice: "required" });
  check(required.choices[0].message.tool_calls?.length > 0, "tool_choice required: at least one call");
  const named = await client.chat.completions.create({
    model, messages: [user(quiet.text)], tools, tool_choice: { type: "function", function: { name: "set_timer" } },
  });
  equal(named.choices[0].message.tool_calls?.[0]?.function.name, "set_timer", "tool_choice names set_timer: the first call is set_timer");

  // A multi-turn conversation: the client's own assistant message (with its
  // tool_calls) and the tool results go back; the server replays those calls.
  const first = acting.r.choices[0].message;
  const results = first.tool_calls.map((c) => ({ role: "tool", tool_call_id: c.id, content: "done" }));
  const turn1 = [user(acting.text), first, ...results];
  const closing = await client.chat.completions.create({ model, messages: turn1, tools });
  check(closing.choices[0].finish_reason === "stop" && !closing.choices[0].message.tool_calls?.length &&
        closing.choices[0].message.content === first.content,
        "the tool loop's last step (results sent back) closes the turn with the reply", JSON.stringify(closing.choices[0]));
  const second = [...turn1, user("and now turn it off")];
  const r2 = await client.chat.completions.create({ model, messages: second, tools });
  check(r2.choices[0].message.role === "assistant", "a second turn after tool calls is answered");
  const alone = await postJson(server, "/v1/device/command", { messages: [user(acting.text)] });
  const replayed = await postJson(server, "/v1/device/command", { messages: second });
  equal(replayed.body.state_before, alone.body.state, "the second turn starts from the state the first turn's calls left");
  check(JSON.stringify(alone.body.state) !== JSON.stringify(device.state), "the first turn changed the device's state");
  equal(callsOf(r2.choices[0].message), replayed.body.calls.map((c) => ({ name: c.name, arguments: c.arguments })),
        "the second turn's calls equal the device endpoint's");

  // Streaming: the same answer as the completion, the calls before the reply,
  // the reply in more than one piece.
  for (const a of answers.slice(0, 4)) {
    const whole = a.r.choices[0];
    const stream = await client.chat.completions.create({
      model, messages: [user(a.text)], tools, stream: true, stream_options: { include_usage: true },
    });
    const calls = [];
    let content = "", pieces = 0, finishReason = null, usage = null, callsBeforeReply = true;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const c = chunk.choices[0];
      if (!c) continue;
      for (const tc of c.delta.tool_calls || []) {
        if (pieces > 0) callsBeforeReply = false;
        calls[tc.index] = { name: tc.function.name, arguments: JSON.parse(tc.function.arguments) };
      }
      if (c.delta.content) (content += c.delta.content), pieces++;
      if (c.finish_reason) finishReason = c.finish_reason;
    }
    equal(calls, callsOf(whole.message), `'${a.text}' streamed: the same tool calls`);
    equal(content, whole.message.content ?? "", `'${a.text}' streamed: the same reply`);
    equal(finishReason, whole.finish_reason, `'${a.text}' streamed: the same finish_reason`);
    check(usage && usage.completion_tokens === a.r.usage.completion_tokens, `'${a.text}' streamed: usage as the completion's`);
    check(callsBeforeReply, `'${a.text}' streamed: the calls come before the reply`);
    if (content.length > 8) check(pieces > 1, `'${a.text}' streamed: the reply comes in pieces as decoded`, `${pieces} piece(s)`);
  }

  // max_tokens cuts the reply: finish_reason "length", whole or streamed.
  const longest = answers.reduce((a, b) => ((b.r.choices[0].message.content || "").length > (a.r.choices[0].message.content || "").length ? b : a));
  const cut = await client.chat.completions.create({ model, messages: [user(longest.text)], max_tokens: 2 });
  check(cut.choices[0].finish_reason === "length" && (cut.choices[0].message.content || "").length < longest.r.choices[0].message.content.length,
        "max_tokens 2: the reply is cut and finish_reason is length", JSON.stringify(cut.choices[0]));
  const cutStream = await client.chat.completions.create({ model, messages: [user(longest.text)], max_tokens: 2, stream: true });
  let cutReason = null;
  for await (const chunk of cutStream) if (chunk.choices[0]?.finish_reason) cutReason = chunk.choices[0].finish_reason;
  equal(cutReason, "length", "max_tokens 2 streamed: finish_reason length");

  // Errors come back as the client's typed exceptions with OpenAI's fields.
  async function expectError(what, request, status, code) {
    try {
      await client.chat.completions.create(request);
      check(false, what, "no error");
    } catch (e) {
      check(e instanceof OpenAI.APIError && e.status === status && e.code === code && e.message.length > 0, what,
            `${e.constructor.name} status ${e.status} code ${e.code}: ${e.message}`);
    }
  }
  const otherTools = [...tools, { type: "function", function: { name: "launch_rocket", parameters: { type: "object", properties: {} } } }];
  await expectError("tools that are not the device's: BadRequestError tools_mismatch",
                    { model, messages: [user("turn it on")], tools: otherTools }, 400, "tools_mismatch");
  await expectError("max_tokens 0: BadRequestError invalid_value", { model, messages: [user("turn it on")], max_tokens: 0 }, 400, "invalid_value");
  await expectError("two user turns in a row: BadRequestError invalid_messages",
                    { model, messages: [user("turn it on"), user("sleep mode")] }, 400, "invalid_messages");
  try {
    await client.chat.completions.create({ model, messages: [user("turn it on")] }, { path: "/nothing" });
    check(false, "an unknown endpoint: NotFoundError", "no error");
  } catch (e) {
    check(e instanceof OpenAI.NotFoundError, "an unknown endpoint: NotFoundError", `${e.constructor.name} ${e.status}`);
  }
} catch (e) {
  check(false, "the client run", e.stack || String(e));
} finally {
  const exit = await server.stop();
  equal(exit, { code: 0, signal: null }, "SIGTERM: the server exits 0");
}
finish();
