// npm run crash-states [-- --help]: the crash-state explorer (docs/crash-states.md). The
// explorer is TypeScript that imports the supervisor's own names and formats; esbuild (the
// build's bundler) turns it into one ES module, which then runs. The module is written below
// node_modules/.cache so that its own import of esbuild (for the broken writers) resolves.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = import.meta.dirname;
const cache = resolve(here, "../../node_modules/.cache");
mkdirSync(cache, { recursive: true });
const out = mkdtempSync(join(cache, "crash-states-"));
let status = 2;
try {
  const outfile = join(out, "cli.mjs");
  await build({
    entryPoints: [join(here, "cli.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "error",
    // The explorer finds the repository from its own source directory, not the bundle's.
    define: { "import.meta.dirname": JSON.stringify(here) },
  });
  const { main } = await import(pathToFileURL(outfile).href);
  status = await main(process.argv.slice(2));
} catch (error) {
  console.error(`crash-states: ${error instanceof Error ? error.message : error}`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(status);
