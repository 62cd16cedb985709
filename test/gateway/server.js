'use strict';
// Test gateway: a real HTTP server standing in for `openclaw gateway run --port <port>` in
// supervision tests, with switchable faults. node: built-ins only; runs on Node 20 and 22.
//
//   node server.js [gateway run] [--port N | --port=N]     (default port 18789; other args ignored)
//
// Listens on 127.0.0.1 only. Token: OPENCLAW_GATEWAY_TOKEN if non-empty, else gateway.auth.token
// from $OPENCLAW_CONFIG_PATH, as OpenClaw, or $OPENCLAW_CONFIG (default /sandbox/.openclaw/openclaw.json);
// neither: exit 78.
//
//   GET  /healthz, /startupz, /readyz   OpenClaw's three probes, without the token, in OpenClaw's
//                           shapes: 200 {"ok":true,"status":"live"}; 200 {"status":"started"} or
//                           503 {"status":"starting","pendingReason"} / {"status":"draining"};
//                           200 {"ready":true,"failing":[]} or 503 {"ready":false,"failing":[...]}
//   GET  /health            200 {"ok":true,"pid":N} with `Authorization: Bearer <token>`, else 401
//   GET  /whoami            {pid, uid, gid, groups, tokenSource, nodeOptions, hasTokenEnv, preloadsActive}
//   GET  /slow?ms=N         answers {"ok":true,"waitedMs":N} after N ms: an agent's reply in flight
//   POST /control/<action>  200 {"ok":true,"action","pid"[,"childPid"]}, then does the action
//   anything else without the token: 401
//
// Faults: TEST_GATEWAY_MODE (comma-separated) at start, or POST /control/<action> at run time
// (slow-start: environment only). From /control a fault fires once the answer is sent. From the
// environment: ignore-term and exit0-on-term apply at once; the others fire TEST_GATEWAY_DELAY_MS
// (default 0) after listening, except crash and exit0 without a delay, which fire before
// listening (a gateway that never boots).
//   crash          exit 1
//   exit0          exit 0
//   hang           keep accepting connections, never answer a request
//   deaf           close the listening socket and all connections, stay alive
//   daemon-child   start a detached grandchild (own session) listening on port+1 that outlives
//                  the gateway; logs its pid. It exits by itself after TEST_GATEWAY_DAEMON_TTL_MS
//                  (default 600000) so that a failed test cannot leak it forever.
//   ignore-term    ignore SIGTERM
//   exit0-on-term  exit 0 at once on SIGTERM
//   slow-start     wait TEST_GATEWAY_START_DELAY_MS (default 3000) before listening, idle
//   busy-start     the same, but computing all the time (a slow boot that makes progress)
//   drain          on SIGTERM, as OpenClaw does: new requests get 503, /startupz says draining,
//                  requests in flight (/slow) finish, then the server closes and it exits 0
//   not-ready      /readyz answers 503 failing ["channel:test"] (also POST /control/not-ready,
//                  /control/ready at run time)
//   restart-in-process  (POST /control only, or SIGUSR2, as OpenClaw with OPENCLAW_NO_RESPAWN=1)
//                  drain, close the listener, compute TEST_GATEWAY_RESTART_MS (default 2000), listen
//                  again under the same pid, then start up again
// TEST_GATEWAY_STARTUP_MS (or `startup-ms=N` in the mode file): after each listen, /startupz says
// starting (pendingReason startup-sidecars) this long before started (default 0).
// TEST_GATEWAY_MODE_FILE names a file read at each start (missing: nothing) whose content adds
// modes in the same syntax, plus `start-delay-ms=N`: tests change it between launches of one
// container, e.g. to make only the gateway launched by a restart fail.
// Default SIGTERM: close the server and all its connections, then exit 0.
//
// Logs one stdout line per event, prefixed `[test-gateway] `; tests wait for
// `listening on 127.0.0.1:<port> pid <pid>`. Usage errors exit 64. The token is never logged.
//
// Written without `require`: this repo's package.json says "type": "module", so here Node runs the
// file as ESM; copied anywhere else it runs as CommonJS. process.getBuiltinModule works in both.
(function main() {
  const builtin = (id) =>
    typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : require(id);
  const http = builtin('node:http');
  const fs = builtin('node:fs');
  const crypto = builtin('node:crypto');
  const childProcess = builtin('node:child_process');

  const HOST = '127.0.0.1';
  const ACTIONS = ['crash', 'exit0', 'hang', 'deaf', 'daemon-child', 'ignore-term', 'exit0-on-term', 'not-ready', 'ready', 'restart-in-process'];
  const ENV_ONLY = ['slow-start', 'busy-start', 'drain'];

  const log = (message) => process.stdout.write(`[test-gateway] ${message}\n`);
  const exit = (code, why) => {
    log(`${why}: exit ${code}`);
    process.exit(code);
  };
  const numberFromEnv = (name, fallback) => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 0) exit(64, `${name} must be a whole number of ms`);
    return value;
  };

  const port = parsePort(process.argv.slice(2));
  const fromFile = readModeFile(process.env.TEST_GATEWAY_MODE_FILE);
  const settings = `${process.env.TEST_GATEWAY_MODE ?? ''},${fromFile}`.split(',').map((m) => m.trim()).filter(Boolean);
  const startDelaySetting = settings.find((m) => m.startsWith('start-delay-ms='));
  const startupSetting = settings.find((m) => m.startsWith('startup-ms='));
  const modes = settings.filter((m) => !m.startsWith('start-delay-ms=') && !m.startsWith('startup-ms='));
  for (const mode of modes) {
    if (!ACTIONS.includes(mode) && !ENV_ONLY.includes(mode)) exit(64, `unknown TEST_GATEWAY_MODE '${mode}'`);
  }
  const delayMs = numberFromEnv('TEST_GATEWAY_DELAY_MS', 0);
  const startDelayMs = startDelaySetting
    ? Number(startDelaySetting.slice('start-delay-ms='.length))
    : numberFromEnv('TEST_GATEWAY_START_DELAY_MS', 3000);
  const daemonTtlMs = numberFromEnv('TEST_GATEWAY_DAEMON_TTL_MS', 600000);
  const startupMs = startupSetting ? Number(startupSetting.slice('startup-ms='.length)) : numberFromEnv('TEST_GATEWAY_STARTUP_MS', 0);
  const restartMs = numberFromEnv('TEST_GATEWAY_RESTART_MS', 2000);

  const auth = readToken();
  if (!auth.token) exit(78, `no token configured (${auth.problem})`);
  const expected = Buffer.from(`Bearer ${auth.token}`);

  log(`starting pid ${process.pid}, token from ${auth.source}, mode ${modes.join(',') || 'normal'}`);

  let hanging = false;
  let onTerm = modes.includes('drain') ? 'drain' : 'graceful';
  let ready = !modes.includes('not-ready');
  // What /startupz says: starting after each listen (for startupMs), started, or draining.
  let phase = 'starting';
  let inFlight = 0;
  // Set by SIGTERM: a drain under way for an in-process restart ends in an exit instead.
  let exitAfterDrain = false;
  const server = http.createServer(handle);

  process.on('SIGTERM', () => {
    if (onTerm === 'ignore') return log('SIGTERM: ignored');
    if (onTerm === 'exit0') exit(0, 'SIGTERM');
    if (onTerm === 'drain') {
      exitAfterDrain = true;
      return drain(() => exit(0, 'SIGTERM: drained, server closed'));
    }
    // Close reports ERR_SERVER_NOT_RUNNING when deaf; the shutdown is just as clean.
    server.close(() => exit(0, 'SIGTERM: server closed'));
    server.closeAllConnections(); // hung requests would otherwise hold close() open forever
  });
  process.on('SIGUSR2', () => act('restart-in-process'));

  /** New work gets 503 while the requests in flight finish; then the server closes. */
  function drain(done) {
    if (phase === 'draining') return;
    phase = 'draining';
    log(`draining: ${inFlight} request(s) in flight`);
    const check = setInterval(() => {
      if (inFlight > 0) return;
      clearInterval(check);
      server.close(() => done());
      server.closeAllConnections();
    }, 10);
  }

  for (const mode of modes) if (mode === 'ignore-term' || mode === 'exit0-on-term') act(mode);
  const exitMode = modes.find((mode) => mode === 'crash' || mode === 'exit0');
  if (exitMode && delayMs === 0) act(exitMode); // never listens: a gateway that fails to boot

  if (modes.includes('slow-start')) {
    log(`slow-start: listening in ${startDelayMs} ms`);
    setTimeout(listen, startDelayMs);
  } else if (modes.includes('busy-start')) {
    log(`busy-start: computing, listening in ${startDelayMs} ms`);
    computeThenListen(startDelayMs);
  } else {
    listen();
  }

  /** Computes for `ms` in short slices (so SIGTERM is still handled meanwhile), then listens. */
  function computeThenListen(ms) {
    const until = Date.now() + ms;
    const work = () => {
      const slice = Date.now() + 20;
      while (Date.now() < slice) Math.sqrt(Math.random());
      if (Date.now() < until) setImmediate(work);
      else listen();
    };
    work();
  }

  function listen() {
    server.once('error', (err) => exit(1, `listen on ${HOST}:${port} failed (${err.code})`));
    server.listen(port, HOST, () => {
      log(`listening on ${HOST}:${port} pid ${process.pid}`);
      phase = 'starting';
      setTimeout(() => {
        if (phase === 'starting') phase = 'started';
      }, startupMs);
      for (const mode of modes) {
        if (['crash', 'exit0', 'hang', 'deaf', 'daemon-child'].includes(mode)) setTimeout(() => act(mode), delayMs);
      }
    });
  }

  function act(action) {
    switch (action) {
      case 'crash':
        return exit(1, 'crash');
      case 'exit0':
        return exit(0, 'exit0');
      case 'hang':
        hanging = true;
        return log('hang: accepting connections, answering nothing');
      case 'deaf':
        server.close();
        server.closeAllConnections();
        setInterval(() => {}, 1 << 30); // nothing else keeps a closed server's process alive
        return log('deaf: listener closed, process stays alive');
      case 'daemon-child':
        return spawnDaemonChild(() => {});
      case 'ignore-term':
        onTerm = 'ignore';
        return log('ignore-term: SIGTERM will be ignored');
      case 'exit0-on-term':
        onTerm = 'exit0';
        return log('exit0-on-term: SIGTERM will exit 0 at once');
      case 'not-ready':
      case 'ready':
        ready = action === 'ready';
        return log(`readiness: ${ready ? 'ready' : 'not ready'}`);
      case 'restart-in-process':
        return drain(() => {
          if (exitAfterDrain) exit(0, 'SIGTERM during an in-process restart: drained, server closed');
          log(`restarting in process: computing ${restartMs} ms before listening again`);
          computeThenListen(restartMs);
        });
    }
  }

  function handle(req, res) {
    if (hanging) return; // the request stays open until the client gives up
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    const url = new URL(req.url, `http://${HOST}`);
    const path = url.pathname;
    if (path === '/healthz') return send(200, { ok: true, status: 'live' });
    if (path === '/startupz') {
      const started = phase === 'started';
      return send(started ? 200 : 503, { ok: started, status: phase, ...(phase === 'starting' ? { pendingReason: 'startup-sidecars' } : {}) });
    }
    if (path === '/readyz') {
      const failing = phase === 'draining' ? ['gateway-draining'] : phase === 'starting' ? ['startup-sidecars'] : ready ? [] : ['channel:test'];
      return send(failing.length === 0 ? 200 : 503, { ready: failing.length === 0, failing });
    }
    if (!isAuthorized(req.headers.authorization)) return send(401, { ok: false, error: 'unauthorized' });
    if (phase === 'draining') {
      return send(503, { error: { message: 'Gateway is temporarily unavailable while suspending or restarting', code: 'gateway_unavailable' } });
    }
    if (path === '/slow') {
      const ms = Number(url.searchParams.get('ms') ?? '1000');
      inFlight++;
      log(`slow request: answering in ${ms} ms`);
      return setTimeout(() => {
        send(200, { ok: true, waitedMs: ms });
        inFlight--;
        log('slow request: answered');
      }, ms);
    }
    const action = path.startsWith('/control/') ? path.slice('/control/'.length) : undefined;
    if (path === '/health' || path === '/whoami') {
      if (req.method !== 'GET') return send(405, { ok: false, error: 'method not allowed' });
      if (path === '/health') return send(200, { ok: true, pid: process.pid });
      return send(200, {
        pid: process.pid,
        uid: process.getuid(),
        gid: process.getgid(),
        groups: process.getgroups(),
        tokenSource: auth.source,
        nodeOptions: process.env.NODE_OPTIONS ?? null,
        hasTokenEnv: Boolean(process.env.OPENCLAW_GATEWAY_TOKEN),
        // Set by the preload guards when they saw the supervisor's gateway marker.
        preloadsActive: globalThis[Symbol.for('nemoclaw.preload.gateway')] === true,
      });
    }
    if (action !== undefined && ACTIONS.includes(action)) {
      if (req.method !== 'POST') return send(405, { ok: false, error: 'method not allowed' });
      log(`control: ${action}`);
      if (action === 'daemon-child') {
        return spawnDaemonChild((extra) => send(200, { ok: true, action, pid: process.pid, ...extra }));
      }
      // Act once the answer is on the wire: crash, exit0 and deaf end this very connection.
      res.on('finish', () => act(action));
      return send(200, { ok: true, action, pid: process.pid });
    }
    return send(404, { ok: false, error: 'not found' });
  }

  function isAuthorized(header) {
    if (typeof header !== 'string') return false;
    const given = Buffer.from(header);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  }

  function spawnDaemonChild(done) {
    const childPort = port + 1;
    // Its own session (detached): a signal to the gateway's process group does not reach it,
    // only a supervisor that hunts strays by uid does.
    const script = `
      const server = require('node:http').createServer((req, res) => res.end('daemon-child\\n'));
      server.on('error', (err) => { console.log('error ' + err.code); process.exit(1); });
      server.listen(${childPort}, '${HOST}', () => console.log('ready'));
      setTimeout(() => process.exit(0), ${daemonTtlMs});
    `;
    const child = childProcess.spawn(process.execPath, ['-e', script], {
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let settled = false;
    const settle = (failure) => {
      if (settled) return;
      settled = true;
      child.stdout.destroy(); // it writes nothing more; keep no pipe that ties us together
      child.unref();
      if (failure) {
        log(`daemon-child failed: ${failure}`);
        return done({ childPid: null, error: failure });
      }
      log(`daemon-child pid ${child.pid} listening on ${HOST}:${childPort}`);
      done({ childPid: child.pid });
    };
    child.stdout.setEncoding('utf8');
    child.stdout.once('data', (line) => settle(line.trim() === 'ready' ? undefined : line.trim()));
    child.once('exit', (code, signal) => settle(`exited (${signal ?? code}) before listening`));
    child.once('error', (err) => settle(err.code ?? err.message));
  }

  function parsePort(args) {
    if (args[0] === 'gateway') args = args.slice(args[1] === 'run' ? 2 : 1);
    let value = '18789';
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '--port') value = args[++i];
      else if (args[i].startsWith('--port=')) value = args[i].slice('--port='.length);
    }
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1 || parsed > 65534) {
      exit(64, `--port must be 1-65534 (port+1 is the daemon child's), got '${value}'`);
    }
    return parsed;
  }

  function readModeFile(file) {
    if (!file) return '';
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (err) {
      if (err.code === 'ENOENT') return '';
      exit(64, `TEST_GATEWAY_MODE_FILE ${file}: ${err.code}`);
    }
  }

  function readToken() {
    const fromEnv = process.env.OPENCLAW_GATEWAY_TOKEN;
    if (fromEnv) return { token: fromEnv, source: 'env' };
    const file = process.env.OPENCLAW_CONFIG_PATH || process.env.OPENCLAW_CONFIG || '/sandbox/.openclaw/openclaw.json';
    let config;
    try {
      config = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      return { problem: `${file}: ${err.code ?? err.message}` };
    }
    const token = config?.gateway?.auth?.token;
    if (typeof token === 'string' && token !== '') return { token, source: 'config' };
    return { problem: `${file} has no gateway.auth.token` };
  }
})();
