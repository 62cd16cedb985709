'use strict';
// Image build check: every native addon OpenClaw installed for this platform loads on this
// image's Node and glibc. npm picks the prebuilt platform packages (no install script builds
// anything), so a wrong --cpu/--libc or a too-new glibc shows up here, not at gateway start.
//
//   node check-native.cjs APP_DIR     (APP_DIR holds node_modules/)
const fs = require('node:fs');
const path = require('node:path');

const appDir = process.argv[2];
const platform = `linux-${process.arch}`;
const platformAliases = [platform, `linux_${process.arch}`];

function* addons(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* addons(full);
    else if (entry.isFile() && entry.name.endsWith('.node')) yield full;
  }
}

// Addons for other platforms ship inside some packages (darwin/win32 prebuilds, musl builds):
// only this platform's glibc builds must load.
const ours = (file) =>
  platformAliases.some((p) => file.includes(p)) && !/musl/.test(file);

let loaded = 0;
for (const file of addons(path.join(appDir, 'node_modules'))) {
  if (!ours(file)) continue;
  try {
    require(file);
  } catch (error) {
    console.error(`check-native: ${path.relative(appDir, file)} does not load: ${error.message}`);
    process.exit(1);
  }
  console.log(`check-native: loads ${path.relative(appDir, file)}`);
  loaded += 1;
}
if (loaded === 0) {
  console.error(`check-native: no ${platform} addon found in ${appDir}/node_modules (installed for another platform?)`);
  process.exit(1);
}
