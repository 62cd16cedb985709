'use strict';
// sandbox-safety-net: keeps the gateway alive when it hits an error that only exists because
// it runs in a locked-down sandbox (no multicast, no IPv6, no netlink, few inotify watches),
// and logs each one. Every other error crashes the process exactly as plain Node would.
//
// Loaded into every Node process that inherits NODE_OPTIONS (`--require
// /tmp/nemoclaw-sandbox-safety-net.js`), so it must be inert outside the gateway.
//
// Activation: the supervisor sets NEMOCLAW_GATEWAY=1 in the gateway's environment only. The
// first guard loaded reads it, records the answer in a global for the other guard, and deletes
// it from process.env, so nothing the gateway spawns (tool shells, npm, workers) inherits it:
// exactly one process acts. (A gateway that re-executes itself would lose the guards in the
// re-executed copy; launch openclaw with OPENCLAW_NO_RESPAWN=1.) The same rule is duplicated
// in ciao-network-guard.js because each guard is staged as a standalone file.
//
// Mechanism: wrap process.emit instead of adding 'uncaughtException'/'unhandledRejection'
// listeners. Node decides whether to crash from the return value of
// process.emit('uncaughtException' | 'unhandledRejection', ...). Returning true for a benign
// error stops it before any application listener (openclaw's own handlers exit 1); for anything
// else the original emit runs, so Node's own crash path (message, stack, exit code 1,
// --unhandled-rejections mode) and the application's listeners behave as if we were not here.
//
// Written without `require`, `module` or `exports`: a stray package.json with "type": "module"
// next to the staged copy makes Node load it as ESM, and it must still work then.
(function installSandboxSafetyNet() {
  const INSTALLED = Symbol.for('nemoclaw.preload.sandbox-safety-net');
  if (globalThis[INSTALLED]) return; // a second copy of this file in NODE_OPTIONS
  globalThis[INSTALLED] = true;
  if (!isGatewayProcess()) return;

  // Error codes a sandbox returns when it forbids or lacks a network feature.
  const NETWORK_REFUSED = new Set([
    'EPERM', 'EACCES', 'EADDRNOTAVAIL', 'ENETUNREACH', 'ENODEV', 'ENOPROTOOPT', 'EAFNOSUPPORT',
  ]);
  // dgram calls that only mDNS-style multicast senders make (syscall names as Node reports them).
  const MULTICAST_SYSCALLS = new Set([
    'addMembership', 'dropMembership', 'addSourceSpecificMembership', 'setMulticastInterface',
    'setMulticastTTL', 'setMulticastLoopback',
  ]);
  const MDNS_PORT = 5353;

  // The whole allow-list. Each entry names the sandbox restriction behind it; keep it short.
  const BENIGN = [
    // os.networkInterfaces() takes no input, so a failure of uv_interface_addresses is always the
    // environment (seccomp/gVisor refusing netlink). @homebridge/ciao calls it from a timer every
    // 15 s; ciao-network-guard.js normally absorbs it, this is the backstop.
    (e) => e.syscall === 'uv_interface_addresses' ||
      (e.info !== null && typeof e.info === 'object' && e.info.syscall === 'uv_interface_addresses'),
    // mDNS (ciao/bonjour) joins 224.0.0.251 / ff02::fb; without multicast-capable interfaces or
    // with a restricted network namespace the socket options fail from inside a bind callback.
    (e) => MULTICAST_SYSCALLS.has(e.syscall) && NETWORK_REFUSED.has(e.code),
    // mDNS traffic on port 5353 that the sandbox cannot route or bind.
    (e) => (e.syscall === 'send' || e.syscall === 'bind') && e.port === MDNS_PORT &&
      NETWORK_REFUSED.has(e.code),
    // No IPv6 in the container: an IPv6 bind/listen/send fails while IPv4 works. Restricted to
    // IPv6 addresses so a failing IPv4 listener still crashes.
    (e) => e.code === 'EAFNOSUPPORT' && typeof e.address === 'string' && e.address.includes(':'),
    // fs.watch (config hot reload, plugin watchers): inotify limits exhausted (ENOSPC, EMFILE) or
    // inotify not available (ENOSYS, EPERM). The watcher is lost; the gateway keeps serving.
    (e) => e.syscall === 'watch' && ['ENOSPC', 'EMFILE', 'ENOSYS', 'EPERM'].includes(e.code),
    // ciao rejects its probe promise when an announcement is cancelled; without multicast every
    // probe ends that way (a known openclaw crash loop in containers).
    (e) => e.message === 'CIAO PROBING CANCELLED',
    // ciao asserts when an interface loses its address between two polls, which happens when
    // interface enumeration flaps between real results and the guard's loopback-only fallback.
    (e) => /^Reached illegal state! IPV[46] address change from defined to undefined!$/.test(e.message),
  ];

  function isBenign(err) {
    if (err === null || typeof err !== 'object') return false;
    try {
      return BENIGN.some((test) => test(err));
    } catch {
      return false; // a hostile getter on the error: not ours to judge
    }
  }

  // A poll that fails every 15 s would flood the log: print the 1st, 2nd, 4th, 8th... occurrence.
  const seen = new Map();
  function logIgnored(err, origin) {
    const message = String(err.message).replace(/\s*\n\s*/g, ' ');
    const line = `${err.code || '-'} ${err.syscall || '-'}: ${message}`;
    const count = (seen.get(line) || 0) + 1;
    seen.set(line, count);
    if ((count & (count - 1)) !== 0) return;
    const times = count > 1 ? `, seen ${count} times` : '';
    writeStderr(`[preload] sandbox-safety-net: ignored ${line} (${origin}${times})\n`);
  }

  const originalEmit = process.emit;
  process.emit = function emit(event, value) {
    if ((event === 'uncaughtException' || event === 'unhandledRejection') && isBenign(value)) {
      logIgnored(value, event);
      return true;
    }
    return Reflect.apply(originalEmit, this, arguments);
  };

  writeStderr(`[preload] sandbox-safety-net active (pid ${process.pid})\n`);

  function writeStderr(text) {
    try {
      process.stderr.write(text);
    } catch {
      // stderr closed: logging must never be the thing that crashes the gateway
    }
  }

  function isGatewayProcess() {
    const KEY = Symbol.for('nemoclaw.preload.gateway');
    if (!(KEY in globalThis)) {
      globalThis[KEY] = process.env.NEMOCLAW_GATEWAY === '1';
      delete process.env.NEMOCLAW_GATEWAY;
    }
    return globalThis[KEY] === true;
  }
})();
