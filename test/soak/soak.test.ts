// The short soak (about 2 minutes) of test/soak/soak.mjs inside `npm test`: random restarts,
// kill -9 of the gateway and its children, SIGHUP and CPU throttling, sampled every second
// from the host. `npm run soak` runs the full 30 minutes.
import { describe, expect, it } from "vitest";
import { dockerAvailable, ensureTestImage } from "../helpers/docker.js";
// @ts-expect-error: plain ESM script without types, shared with `npm run soak`
import { runSoak } from "./soak.mjs";

interface Summary {
  ok: boolean;
  samples: number;
  lasting: number;
  twoGateways: number;
  pid1Restarts: number;
  rssGrowthKb: number;
  anonGrowthKb: number;
  internalErrors: number;
  disagreementLines: string[];
}

describe.skipIf(!dockerAvailable())("soak (2 minutes)", () => {
  it("health agrees with the host's own proof, never two gateways, PID 1 never restarts, its memory stays flat", async () => {
    const summary = (await runSoak({ minutes: 2, minSamples: 90, image: ensureTestImage("amd64"), seed: 1 })) as Summary;
    // At least 60 samples even on a loaded host (runSoak runs on for up to 4 minutes to get 90).
    expect(summary.samples).toBeGreaterThanOrEqual(60);
    expect(summary.lasting, summary.disagreementLines.join("\n")).toBe(0);
    expect(summary.twoGateways).toBe(0);
    expect(summary.pid1Restarts).toBe(0);
    expect(summary.internalErrors).toBe(0);
    expect(summary.anonGrowthKb).toBeLessThanOrEqual(8 * 1024);
    expect(summary.ok).toBe(true);
  }, 15 * 60_000);
});
