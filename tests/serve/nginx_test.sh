#!/usr/bin/env bash
# Two `tessel serve` replicas behind nginx (deploy/nginx.conf with loopback
# ephemeral ports and a temp prefix): requests reach both replicas, and keep
# being answered after one replica is killed. Bounded in time; everything it
# starts is stopped on exit.
set -euo pipefail
tessel=$1
src=${TESSEL_SOURCE_DIR:?}
shared=${TESSEL_SHARED:-$src/../shared}
model=$shared/models/stories260K.gguf
[ -f "$model" ] || { echo "FAIL: shared model missing: $model (TESSEL_SHARED)"; exit 1; }
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "FAIL: nginx is not installed (tools/setup.sh installs nginx-light)"; exit 1; }
tmp=$(mktemp -d)
pids=()
nginx_pid=
cleanup() {
  # nginx's master stops its workers on TERM; a killed master would leave them
  # running (and holding this test's output pipe open).
  if [ -n "$nginx_pid" ]; then
    kill -TERM "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

start_replica() {  # prints the replica's pid and port
  local log=$tmp/replica$1.log
  "$tessel" serve -m "$model" --host 127.0.0.1 --port 0 -c 256 -t 1 --alias "replica$1" 2>"$log" &
  local pid=$!
  for _ in $(seq 600); do
    grep -q "serve: ready" "$log" && break
    kill -0 "$pid" 2>/dev/null || { echo "FAIL: replica $1 exited: $(cat "$log")"; exit 1; }
    sleep 0.1
  done
  grep -q "serve: ready" "$log" || { echo "FAIL: replica $1 not ready in 60 s"; exit 1; }
  echo "$pid $(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log" | head -1)"
}
free_port() { node -e 'const s=require("net").createServer(); s.listen(0,"127.0.0.1",()=>{console.log(s.address().port); s.close()})'; }

read -r pid1 port1 < <(start_replica 1); pids+=("$pid1")
read -r pid2 port2 < <(start_replica 2); pids+=("$pid2")
front=$(free_port)
# The shipped config with this test's ports and a private prefix.
sed -e "s/127.0.0.1:8081/127.0.0.1:$port1/" -e "s/127.0.0.1:8082/127.0.0.1:$port2/" \
    -e "s/listen 127.0.0.1:8080;/listen 127.0.0.1:$front;/" -e "s|pid /tmp/tessel-nginx.pid;|pid $tmp/nginx.pid;|" \
    "$src/deploy/nginx.conf" > "$tmp/nginx.conf"
grep -q "127.0.0.1:$port1" "$tmp/nginx.conf" && grep -q "listen 127.0.0.1:$front" "$tmp/nginx.conf" ||
  { echo "FAIL: deploy/nginx.conf no longer has the ports this test rewrites"; exit 1; }
mkdir -p "$tmp/nginx-temp"
"$nginx" -p "$tmp/nginx-temp" -c "$tmp/nginx.conf" -e stderr -g "daemon off;" 2>"$tmp/nginx.log" &
nginx_pid=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$front/health" && break; sleep 0.1; done

ask() {  # the model id that answered (each replica has its own alias)
  curl -sS --max-time 30 "http://127.0.0.1:$front/v1/completions" -H 'Content-Type: application/json' \
    -d '{"prompt":"Once upon a time","max_tokens":8,"temperature":0}' |
    grep -o '"model":"replica[0-9]"' | cut -d'"' -f4
}
seen=""
for _ in $(seq 8); do seen="$seen $(ask || echo failed)"; done
echo "answered by:$seen"
[[ $seen == *replica1* && $seen == *replica2* ]] || { echo "FAIL: requests did not reach both replicas"; exit 1; }

# Streaming passes through nginx event by event and ends with [DONE].
stream=$(curl -sS -N --max-time 30 "http://127.0.0.1:$front/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":8,"temperature":0,"stream":true}')
[[ $stream == *"data: [DONE]"* ]] || { echo "FAIL: stream through nginx did not end with [DONE]: $stream"; exit 1; }

kill -9 "$pid1"
seen=""
for _ in $(seq 6); do seen="$seen $(ask || echo failed)"; done
echo "after killing replica 1:$seen"
[[ $seen != *replica1* && $(wc -w <<<"$seen") -eq 6 ]] || { echo "FAIL: requests failed after a replica died"; exit 1; }
