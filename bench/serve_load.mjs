// Load client for bench/serve.sh: N concurrent streamed /v1/completions
// against an OpenAI-compatible server (tessel serve or llama-server), each
// generating exactly TOKENS tokens (ignore_eos). Prints one JSON line:
// aggregate generated tokens/s over the wall time, mean and max time to
// first token. Node built-ins only (fetch).
//   node bench/serve_load.mjs http://127.0.0.1:8080 N TOKENS
const [base, nArg, tokArg] = process.argv.slice(2);
const n = Number(nArg), tokens = Number(tokArg);
const prompt = 'Once upon a time, in a small village at the edge of a great forest, there lived an old clockmaker who';

async function one(i) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: tokens, n_predict: tokens, ignore_eos: true, temperature: 0,
                           seed: i, stream: true, cache_prompt: false }),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let ttft = null, events = 0, buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, at);
      buf = buf.slice(at + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const j = JSON.parse(ev.slice(6));
      if (j.choices?.[0]?.text) {
        events += 1;
        if (ttft === null) ttft = performance.now() - t0;
      }
    }
  }
  return { ttft, ms: performance.now() - t0, events };
}

const t0 = performance.now();
const results = await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
const wall = performance.now() - t0;
const ttfts = results.map((r) => r.ttft ?? r.ms);
console.log(JSON.stringify({
  streams: n,
  tokens_per_stream: tokens,
  aggregate_tps: (n * tokens) / (wall / 1000),
  ttft_ms_mean: ttfts.reduce((a, b) => a + b, 0) / n,
  ttft_ms_max: Math.max(...ttfts),
  wall_ms: wall,
}));
