// The official openai npm client (pinned in package.json / package-lock.json,
// installed by tools/setup.sh with `npm ci`) against `tessel serve` on
// loopback: models, chat, streamed chat == plain chat at temperature 0,
// completions, and the client's errors for 401/404/400.
// Usage: node openai_client_test.mjs path/to/tessel
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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

const server = spawn(tessel, ['serve', '-m', model, '--host', '127.0.0.1', '--port', '0', '-np', '2', '-c', '512',
                              '-t', '1', '--api-key', 'test-key'], { stdio: ['ignore', 'ignore', 'pipe'] });
const killer = setTimeout(() => { console.error('FAIL: timed out'); server.kill('SIGKILL'); process.exit(1); }, 240000);
let log = '';
const port = await new Promise((resolve, reject) => {
  server.stderr.on('data', (d) => {
    log += d;
    const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    if (m && log.includes('serve: ready')) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`tessel serve exited (${code}): ${log}`)));
});

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
  await check('errors: wrong key 401, unknown model 404, bad field 400', async () => {
    const bad = new OpenAI({ apiKey: 'wrong', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e) => e.status === 401);
    await assert.rejects(client.chat.completions.create({ model: 'gpt-9', messages }),
                         (e) => e.status === 404 && /gpt-9/.test(e.message));
    await assert.rejects(client.chat.completions.create({ model: 'stories260K.gguf', messages, temperature: 'hot' }),
                         (e) => e.status === 400 && /temperature/.test(e.message));
  });
} catch (e) {
  console.error(`FAIL: ${e.stack ?? e}\nserver log:\n${log}`);
  server.kill('SIGKILL');
  process.exit(1);
}
server.kill('SIGTERM');
await new Promise((resolve) => server.on('exit', resolve));
clearTimeout(killer);
console.log(`${passed} passed, 0 failed`);
