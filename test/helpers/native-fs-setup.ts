// vitest setup file: the supervisor's file writes go through the native addon's *at()
// calls (supervisor/shared/dir-fd.ts), which the binary registers at boot; in-process tests
// register the addon build.mjs compiled.
import { useNativeFs } from "../../supervisor/shared/dir-fd.js";
import { loadAddon } from "./native.js";

useNativeFs(loadAddon());
