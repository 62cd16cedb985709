// esbuild embeds these files as bytes (loader "binary").
declare module "*.node" {
  const bytes: Uint8Array;
  export default bytes;
}

// Replaced by esbuild with the package version.
declare const __SUPERVISOR_VERSION__: string;

// Replaced by esbuild: false in the release bundles, true only in the test bundle that
// build.mjs writes as dist/supervisor-faults.cjs (supervise/faults.ts).
declare const __SUPERVISOR_FAULTS__: boolean;
