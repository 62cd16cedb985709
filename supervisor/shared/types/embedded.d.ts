// esbuild embeds these files as bytes (loader "binary").
declare module "*.node" {
  const bytes: Uint8Array;
  export default bytes;
}

// Replaced by esbuild with the package version.
declare const __SUPERVISOR_VERSION__: string;
