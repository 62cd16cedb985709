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

// Replaced by esbuild: the architecture an executable's bundle is built for ("x64" or
// "arm64"; its addon is the only one embedded), or "any" in dist/supervisor.cjs (both).
declare const __SUPERVISOR_ARCH__: "x64" | "arm64" | "any";
