// The official openai npm client (pinned in package.json / package-lock.json,
// installed by tools/setup.sh with `npm ci`) against `tessel serve` on
// loopback: models, chat, streamed chat == plain chat at temperature 0,
// completions, 8 concurrent requests == sequential ones, a conversation with
// tools and a tool call (the client's shape: arguments as a JSON string),
// embeddings == `tessel embed`, the client's errors for 401/404/400/413, an
// aborted stream freeing its slot, and SIGTERM with a request in flight.
// Usage: node openai_client_test.mjs path/to/tessel
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'package.json'));
let OpenAI;
try {
  OpenAI = require('openai').default ?? require('openai');
} catch (e) {
  console.error(`FAIL: the openai package is not installed in ${here} (run tools/setup.sh, which runs npm ci): ${e.message}`);
  process.exit(1);
}

const tessel = process.argv[2];
const source = process.env.TESSEL_SOURCE_DIR ?? path.join(here, '..', '..');
const shared = process.env.TESSEL_SHARED || path.join(source, '..', 'shared');
const model = path.join(shared, 'models', 'stories260K.gguf');
if (!existsSync(model)) {
  console.error(`FAIL: shared model missing: ${model} (TESSEL_SHARED)`);
  process.exit(1);
}

const embedModel = path.join(shared, 'golden', 'models', 'gemma-embedding-synth.gguf');
const qwenTemplate = path.join(shared, 'chat-templates', 'Qwen-Qwen2.5-7B-Instruct.jinja');
for (const f of [embedModel, qwenTemplate]) {
  if (!existsSync(f)) {
    console.error(`FAIL: shared file missing: ${f} (TESSEL_SHARED)`);
    process.exit(1);
  }
}

// Starts `tessel serve ARGS` on an ephemeral loopback port; resolves once it is ready.
const servers = [];
let log = '';
async function startServer(args) {
  const proc = spawn(tessel, ['serve', ...args, '--host', '127.0.0.1', '--port', '0', '-t', '1'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
  servers.push(proc);
  let own = '';
  const port = await new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => {
      own += d;
      log += d;
      const m = own.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m && own.includes('serve: ready')) resolve(Number(m[1]));
    });
    proc.on('exit', (code) => reject(new Error(`tessel serve exited (${code}): ${own}`)));
  });
  return { proc, port };
}
const killer = setTimeout(() => {
  console.error('FAIL: timed out');
  for (const p of servers) p.kill('SIGKILL');
  process.exit(1);
}, 240000);
// Qwen's template: it prints tools and reads a call's arguments as an object.
const { proc: server, port } = await startServer(['-m', model, '-np', '2', '-c', '2048', '--api-key', 'test-key',
                                                   '--max-body', '65536',
                                                   '--chat-template-file', qwenTemplate]);

const client = new OpenAI({ apiKey: 'test-key', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, timeout: 60000 });
let passed = 0;
async function check(name, fn) {
  await fn();
  passed += 1;
  console.log(`ok - ${name}`);
}

try {
  await check('models lists the loaded model', async () => {
    const list = await client.models.list();
    assert.equal(list.data[0].id, 'stories260K.gguf');
  });
  const messages = [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: 'A story about a frog.' }];
  let plain;
  await check('chat completion', async () => {
    plain = await client.chat.completions.create({ model: 'stories260K.gguf', messages, max_tokens: 32, temperature: 0 });
    assert.equal(plain.object, 'chat.completion');
    assert.equal(plain.choices[0].message.role, 'assistant');
    assert.ok(plain.choices[0].message.content.length > 0);
    assert.ok(['stop', 'length'].includes(plain.choices[0].finish_reason));
    assert.equal(plain.usage.total_tokens, plain.usage.prompt_tokens + plain.usage.completion_tokens);
  });
  await check('streamed chat equals the plain answer at temperature 0', async () => {
    const stream = await client.chat.completions.create({ model: 'stories260K.gguf', messages, max_tokens: 32,
                                                          temperature: 0, stream: true });
    let text = '', finish = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, plain.choices[0].message.content);
    assert.equal(finish, plain.choices[0].finish_reason);
  });
  await check('completion with a seed is reproducible; streamed equals plain', async () => {
    const req = { model: 'stories260K.gguf', prompt: 'Once upon a time', max_tokens: 24, temperature: 0.8, seed: 5 };
    const a = await client.completions.create(req);
    const b = await client.completions.create(req);
    assert.equal(a.object, 'text_completion');
    assert.equal(a.choices[0].text, b.choices[0].text);
    let text = '';
    for await (const chunk of await client.completions.create({ ...req, stream: true })) text += chunk.choices[0]?.text ?? '';
    assert.equal(text, a.choices[0].text);
  });
  await check('8 concurrent requests give the texts of sequential runs', async () => {
    const prompts = ['Once upon a time', 'The little girl', 'A big dog', 'Tom and Sue', 'One day', 'The sun was',
                     'Lily wanted', 'There was a'];
    const req = (i) => ({ model: 'stories260K.gguf', prompt: prompts[i], max_tokens: 24, temperature: 0.9, seed: 100 + i });
    const alone = [];
    for (let i = 0; i < prompts.length; i++) alone.push((await client.completions.create(req(i))).choices[0].text);
    const together = await Promise.all(prompts.map((_, i) => client.completions.create(req(i))));
    assert.deepEqual(together.map((r) => r.choices[0].text), alone);
  });
  await check('tools and a tool call with JSON-string arguments reach the template; the chat runs', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Current weather',
                                                    parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const conversation = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city: 'Paris' }) } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '21 C' },
    ];
    const r = await client.chat.completions.create({ model: 'stories260K.gguf', messages: conversation, tools,
                                                     max_tokens: 8, temperature: 0 });
    assert.equal(r.object, 'chat.completion');
    const rendered = await fetch(`http://127.0.0.1:${port}/apply-template`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer test-key' },
      body: JSON.stringify({ messages: conversation, tools }),
    }).then((res) => res.json());
    // The arguments as an object (not a quoted string), and the tool described.
    assert.ok(rendered.prompt.includes('{"name": "get_weather", "arguments": {"city": "Paris"}}'), rendered.prompt);
    assert.ok(rendered.prompt.includes('"description": "Current weather"'), rendered.prompt);
  });
  await check('embeddings equal tessel embed', async () => {
    const texts = ['hello world', 'the quick brown fox'];
    const want = execFileSync(tessel, ['embed', '-m', embedModel, '-p', texts[0], '-p', texts[1], '-t', '1'],
                              { stdio: ['ignore', 'pipe', 'pipe'] })
      .toString().trim().split('\n').map((line) => JSON.parse(line).embedding);
    const { proc, port: eport } = await startServer(['-m', embedModel]);
    try {
      const ec = new OpenAI({ apiKey: 'none', baseURL: `http://127.0.0.1:${eport}/v1`, maxRetries: 0, timeout: 60000 });
      const got = await ec.embeddings.create({ model: 'gemma-embedding-synth.gguf', input: texts, encoding_format: 'float' });
      assert.equal(got.data.length, 2);
      for (let i = 0; i < 2; i++) {
        assert.equal(got.data[i].embedding.length, want[i].length);
        const diff = Math.max(...got.data[i].embedding.map((v, k) => Math.abs(v - want[i][k])));
        assert.ok(diff < 1e-6, `embedding ${i} differs by ${diff}`);
      }
      // The client's default asks for base64 and decodes it itself.
      const b64 = await ec.embeddings.create({ model: 'gemma-embedding-synth.gguf', input: texts[0] });
      assert.equal(b64.data[0].embedding.length, want[0].length);
      assert.ok(Math.abs(b64.data[0].embedding[0] - want[0][0]) < 1e-6);
    } finally {
      proc.kill('SIGTERM');
    }
  });
  await check('errors: wrong key 401, unknown model 404, bad field 400', async () => {
    const bad = new OpenAI({ apiKey: 'wrong', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e) => e.status === 401);
    await assert.rejects(client.chat.completions.create({ model: 'gpt-9', messages }),
                         (e) => e.status === 404 && /gpt-9/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model: 'stories260K.gguf', messages, temperature: 'hot' }),
                         (e) => e.status === 400 && /temperature/.test(e.message));
    await assert.rejects(client.completions.create({ model: 'stories260K.gguf', prompt: 'once upon a time '.repeat(300) }),
                         (e) => e.status === 400 && /context holds 1024/.test(e.message));
    await assert.rejects(client.completions.create({ model: 'stories260K.gguf', prompt: 'x'.repeat(70000) }),
                         (e) => e.status === 413);
  });
  const metric = async (name) => {
    const text = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: 'Bearer test-key' } })
      .then((r) => r.text());
    const m = text.match(new RegExp(`\\n${name} ([0-9.e+]+)`));
    assert.ok(m, `metric ${name} missing`);
    return Number(m[1]);
  };
  const waitFor = async (what, cond) => {
    for (let i = 0; i < 3000; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${what}`);
  };
  await check('a client that aborts a stream frees its slot', async () => {
    const done = await metric('tessel_generations_total');
    const stream = await client.completions.create({ model: 'stories260K.gguf', prompt: 'Once', max_tokens: 30000,
                                                     ignore_eos: true, stream: true });
    let chunks = 0;
    for await (const chunk of stream) {
      if (++chunks === 3) break;  // leaving the loop aborts the request
    }
    await waitFor('the aborted stream to leave its slot', async () =>
      (await metric('tessel_slots_busy')) === 0 && (await metric('tessel_generations_total')) === done + 1);
    assert.ok((await metric('tessel_generated_tokens_total')) < 30000);
  });
  await check('SIGTERM lets a request in flight finish, then the server exits 0', async () => {
    const pending = client.completions.create({ model: 'stories260K.gguf', prompt: 'Once', max_tokens: 1000,
                                                ignore_eos: true, temperature: 0 });
    await waitFor('the request to take a slot', async () => (await metric('tessel_slots_busy')) === 1);
    const exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    const r = await pending;
    assert.equal(r.usage.completion_tokens, 1000);
    assert.equal(await exited, 0);
  });
} catch (e) {
  console.error(`FAIL: ${e.stack ?? e}\nserver log:\n${log}`);
  for (const p of servers) p.kill('SIGKILL');
  process.exit(1);
}
clearTimeout(killer);
console.log(`${passed} passed, 0 failed`);
