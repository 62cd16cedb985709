// The OpenClaw image (image/openclaw/Dockerfile) for the tests that run the real gateway:
// built by test/container/openclaw-image.sh on top of the test image, once per process.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureTestImage, type Arch } from "./docker.js";

export const OPENCLAW_BUILD_TIMEOUT_MS = 30 * 60_000;
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "../container/openclaw-image.sh");
const built = new Map<Arch, string>();

/** Builds sandbox-supervisor-openclaw:ARCH on top of the test image; returns its tag. */
export function ensureOpenClawImage(arch: Arch = "amd64"): string {
  const cached = built.get(arch);
  if (cached) return cached;
  const base = ensureTestImage(arch);
  const res = spawnSync(SCRIPT, [arch], {
    encoding: "utf8",
    timeout: OPENCLAW_BUILD_TIMEOUT_MS,
    env: { ...process.env, BASE_IMAGE: base },
  });
  const tag = res.stdout?.trim().split("\n").pop()?.trim() ?? "";
  if (res.status !== 0 || tag === "") {
    throw new Error(`openclaw-image.sh ${arch} failed (status ${String(res.status)}):\n${res.stderr ?? ""}`);
  }
  built.set(arch, tag);
  return tag;
}
