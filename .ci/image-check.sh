#!/usr/bin/env bash
# Does what the Docker image does, without Docker: copies only what the Dockerfile COPYs into a
# fresh directory, installs production dependencies only (npm ci --omit=dev), starts the bot there
# with the image's CMD and environment, and waits until /healthz answers 200. A runtime import of a
# dev dependency, or a file the image lacks, makes the bot fail to start, and this check fail.
#
# The bot runs in HTTP mode against a stub of Slack's Web API and of Cotool's alert list, on
# 127.0.0.1; every server of the bot's process is bound to 127.0.0.1 too (a preloaded module adds
# the host to listen()). Everything stops by itself: each step has a time limit.
# Expects Node 24 on PATH (the caller sets it up). Run from anywhere: .ci/image-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

INSTALL_TIMEOUT_S="${IMAGE_CHECK_INSTALL_TIMEOUT_S:-300}"
HEALTH_TIMEOUT_S="${IMAGE_CHECK_HEALTH_TIMEOUT_S:-60}"

say() { printf 'image-check: %s\n' "$*" >&2; }
die() {
  say "FAILED: $*"
  exit 1
}

major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" = 24 ] || die "Node 24 must be first on PATH (found $(node --version))"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/cotool-slack-image-check.XXXXXX")"
APP="$WORK/app"
STUB_PID=""
BOT_PID=""
cleanup() {
  local rc=$?
  for pid in "$BOT_PID" "$STUB_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. The files the Dockerfile copies (every stage; COPY --from=… copies between stages).
mapfile -t SOURCES < <(
  node -e '
    const text = require("fs").readFileSync("Dockerfile", "utf8").replace(/\\\n/g, " ");
    const out = new Set();
    for (const line of text.split("\n")) {
      const m = /^\s*COPY\s+(.*)$/i.exec(line);
      if (!m) continue;
      const args = m[1].trim().split(/\s+/).filter((a) => !a.startsWith("--"));
      if (/--from=/.test(m[1])) continue;
      for (const src of args.slice(0, -1)) out.add(src.replace(/\/+$/, ""));
    }
    process.stdout.write([...out].join("\n") + "\n");
  '
)
[ "${#SOURCES[@]}" -gt 0 ] || die "found no COPY lines in the Dockerfile"
mkdir -p "$APP"
for src in "${SOURCES[@]}"; do
  [ -e "$src" ] || die "the Dockerfile copies $src, which does not exist"
  mkdir -p "$APP/$(dirname "$src")"
  cp -R "$src" "$APP/$src"
done
say "copied what the Dockerfile copies: ${SOURCES[*]}"

# ---- 2. Production dependencies only, exactly from the lockfile.
say "npm ci --omit=dev (up to ${INSTALL_TIMEOUT_S} s)"
if ! (cd "$APP" && timeout "$INSTALL_TIMEOUT_S" npm ci --omit=dev --no-audit --no-fund --loglevel=error >"$WORK/npm.log" 2>&1); then
  tail -n 30 "$WORK/npm.log" >&2
  die "npm ci --omit=dev did not succeed"
fi
[ ! -e "$APP/node_modules/vitest" ] || die "a dev dependency (vitest) was installed: check --omit=dev"

# ---- 3. A stub of Slack's Web API and of Cotool on 127.0.0.1 (it exits by itself after 5 minutes).
cat >"$WORK/stub.mjs" <<'EOF'
import http from 'node:http';
import { writeFileSync } from 'node:fs';
const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  req.resume();
  req.on('end', () => {
    if (path === '/api/alerts') return json(res, 200, { alerts: [], totalCount: 0 });
    if (path === '/api/auth.test') {
      return json(res, 200, { ok: true, url: 'https://check.slack.invalid/', team: 'image-check', user: 'cotool', team_id: 'T0CHECK', user_id: 'U0CHECKBOT', bot_id: 'B0CHECKBOT' });
    }
    if (path === '/api/conversations.info') {
      return json(res, 200, { ok: true, channel: { id: 'C0IMAGECHECK', name: 'alerts', is_channel: true, is_member: true, is_private: false, is_archived: false } });
    }
    // Any other Web API method: an empty success (nothing to post: Cotool lists no alerts).
    if (path.startsWith('/api/')) return json(res, 200, { ok: true, messages: [], members: [], channels: [], response_metadata: { next_cursor: '' } });
    json(res, 404, { error: 'Not found' });
  });
});
server.listen(0, '127.0.0.1', () => writeFileSync(process.argv[2], String(server.address().port)));
setTimeout(() => process.exit(0), 300_000);
EOF
node "$WORK/stub.mjs" "$WORK/stub.port" &
STUB_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/stub.port" ] && break; sleep 0.1; done
[ -s "$WORK/stub.port" ] || die "the local stub of Slack and Cotool did not start"
STUB="http://127.0.0.1:$(cat "$WORK/stub.port")"

# ---- 4. Start the bot as the image does (CMD, WORKDIR, ENV), every listen() bound to 127.0.0.1.
cat >"$WORK/loopback.mjs" <<'EOF'
// Binds every server of this process to 127.0.0.1: listen(port[, host][, backlog][, cb]) or listen(options[, cb]).
import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const [first] = args;
  if (first !== null && typeof first === 'object' && !('path' in first) && !('fd' in first)) {
    args[0] = { ...first, host: '127.0.0.1' };
  } else if (first === undefined || typeof first === 'function') {
    args.unshift(0, '127.0.0.1');
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof args[1] === 'string') args[1] = '127.0.0.1';
    else args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
EOF
PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})')"
mapfile -t CMD < <(node -e '
  const text = require("fs").readFileSync("Dockerfile", "utf8");
  const m = /^\s*CMD\s+(\[.*\])\s*$/m.exec(text);
  if (!m) process.exit(1);
  process.stdout.write(JSON.parse(m[1]).join("\n") + "\n");
') || die "no CMD [\"…\"] line in the Dockerfile"
say "starting the bot: ${CMD[*]} (HTTP mode, port $PORT)"
(
  cd "$APP"
  exec env -i \
    PATH="$PATH" HOME="$WORK" \
    NODE_OPTIONS="--import=$WORK/loopback.mjs" \
    NODE_ENV=production \
    DATABASE_URL="sqlite:$WORK/data/cotool-slack.db" \
    PORT="$PORT" \
    LOG_LEVEL=warn \
    COTOOL_API_URL="$STUB" \
    COTOOL_API_KEY=image-check-cotool-key \
    SLACK_API_URL="$STUB/api/" \
    SLACK_BOT_TOKEN=xoxb-image-check \
    SLACK_SIGNING_SECRET=0123456789abcdef0123456789abcdef \
    SLACK_ALERT_CHANNEL=C0IMAGECHECK \
    "${CMD[@]}"
) >"$WORK/bot.log" 2>&1 &
BOT_PID=$!

# ---- 5. Until /healthz answers 200 (the image's HEALTHCHECK does the same request).
healthy=""
deadline=$((SECONDS + HEALTH_TIMEOUT_S))
while [ "$SECONDS" -lt "$deadline" ]; do
  if ! kill -0 "$BOT_PID" 2>/dev/null; then
    wait "$BOT_PID" && rc=0 || rc=$?
    BOT_PID=""
    tail -n 40 "$WORK/bot.log" >&2
    die "the bot exited with status $rc before /healthz answered (its output is above)"
  fi
  if PORT="$PORT" node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    healthy=1
    break
  fi
  sleep 0.5
done
if [ -z "$healthy" ]; then
  tail -n 40 "$WORK/bot.log" >&2
  die "/healthz did not answer 200 within ${HEALTH_TIMEOUT_S} s (the bot's output is above)"
fi

# Every socket the bot listens on is on the loopback interface.
if command -v ss >/dev/null 2>&1; then
  if ss -Hltnp 2>/dev/null | grep "pid=$BOT_PID," | awk '{print $4}' | grep -qvE '^(127\.0\.0\.1|\[::1\]):'; then
    ss -Hltnp | grep "pid=$BOT_PID," >&2
    die "the bot listens on an address other than 127.0.0.1"
  fi
fi

# ---- 6. It stops on SIGTERM, as `docker stop` asks.
kill -TERM "$BOT_PID"
for _ in $(seq 1 150); do kill -0 "$BOT_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$BOT_PID" 2>/dev/null; then
  die "the bot did not stop within 15 s of SIGTERM"
fi
wait "$BOT_PID" && rc=0 || rc=$?
BOT_PID=""
[ "$rc" = 0 ] || {
  tail -n 20 "$WORK/bot.log" >&2
  die "the bot exited with status $rc after SIGTERM"
}
say "ok: the image's files with production dependencies start, answer /healthz and stop cleanly"
