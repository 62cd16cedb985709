'use strict';
// ciao-network-guard: stops @homebridge/ciao (the mDNS library behind openclaw's bonjour
// discovery) from crashing the gateway when the sandbox forbids interface enumeration.
// There os.networkInterfaces() throws (SystemError [ERR_SYSTEM_ERROR] "uv_interface_addresses
// returned Unknown system error 1", or EPERM/EACCES), and ciao calls it from a 15 s timer,
// so the throw is uncaught. The guard answers such a failure with a loopback-only result
// (logged once); every other error is rethrown unchanged.
//
// Loaded into every Node process that inherits NODE_OPTIONS (`--require
// /tmp/nemoclaw-ciao-network-guard.js`), so it must be inert outside the gateway.
//
// Activation: the supervisor sets NEMOCLAW_GATEWAY=1 in the gateway's environment only. The
// first guard loaded reads it, records the answer in a global for the other guard, and deletes
// it from process.env, so nothing the gateway spawns (tool shells, npm, workers) inherits it:
// exactly one process acts. (A gateway that re-executes itself would lose the guards in the
// re-executed copy; launch openclaw with OPENCLAW_NO_RESPAWN=1.) The same rule is duplicated
// in sandbox-safety-net.js because each guard is staged as a standalone file.
//
// Written without `require`, `module` or `exports`: a stray package.json with "type": "module"
// next to the staged copy makes Node load it as ESM, and it must still work then.
(function installCiaoNetworkGuard() {
  const INSTALLED = Symbol.for('nemoclaw.preload.ciao-network-guard');
  if (globalThis[INSTALLED]) return; // a second copy of this file in NODE_OPTIONS
  globalThis[INSTALLED] = true;
  if (!isGatewayProcess()) return;

  const os = builtin('node:os');
  const { EPERM, EACCES } = os.constants.errno;
  // Whatever networkInterfaces is when the guard loads is what it wraps (the real one, or a
  // test double installed by an earlier --require).
  const originalNetworkInterfaces = os.networkInterfaces;
  let reported = false;

  function isPermissionDenied(err) {
    if (err === null || typeof err !== 'object') return false;
    if (err.code === 'EPERM' || err.code === 'EACCES') return true;
    // Node reports libuv's failure as ERR_SYSTEM_ERROR and keeps the errno in err.info; the
    // sandbox's errno 1 arrives positive, hence "Unknown system error 1" and the Math.abs.
    const info = err.info;
    return err.code === 'ERR_SYSTEM_ERROR' && info !== null && typeof info === 'object' &&
      info.syscall === 'uv_interface_addresses' &&
      (info.code === 'EPERM' || info.code === 'EACCES' ||
        Math.abs(info.errno) === EPERM || Math.abs(info.errno) === EACCES);
  }

  function describe(err) {
    return err.info && typeof err.info === 'object' ? `${err.code} errno ${err.info.errno}` : err.code;
  }

  os.networkInterfaces = function networkInterfaces() {
    try {
      return Reflect.apply(originalNetworkInterfaces, this, arguments);
    } catch (err) {
      if (!isPermissionDenied(err)) throw err;
      if (!reported) {
        reported = true;
        writeStderr('[preload] ciao-network-guard: os.networkInterfaces() failed ' +
          `(${describe(err)}); returning loopback only\n`);
      }
      // A fresh object per call: a caller that edits its result cannot change the next one.
      return {
        lo: [{
          address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4',
          mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8',
        }],
      };
    }
  };
  // 'os' and 'node:os' are one exports object, so the assignment above covers require('os'),
  // require('node:os') and `import os from 'os'`. It must happen before the application loads:
  // code that copies the function at import time (`const { networkInterfaces } = require('os')`)
  // and ESM named imports (`import { networkInterfaces } from 'node:os'`, whose binding Node
  // builds from the object on first import) then get the guarded function.

  writeStderr(`[preload] ciao-network-guard active (pid ${process.pid})\n`);

  function builtin(id) {
    // Works whether Node loaded this file as CommonJS or as ESM (no `require` there).
    return typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule(id) : require(id);
  }

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
