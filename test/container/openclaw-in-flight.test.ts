// An agent's reply in flight survives `supervisor restart` of the real OpenClaw: a model
// server stand-in inside the container (loopback only) answers slowly, a chat request goes
// through the gateway, and the restart lets OpenClaw drain it before the old gateway exits.
// The image is the OpenClaw image with an operator's config baked in as the docs describe
// (the config, its hash and the image reference): a model provider and the chat endpoint.
import { mkdtempSync, rmSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { docker, dockerAvailable, exec, startContainer, waitFor } from "../helpers/docker.js";
import { containerTracker, logs } from "../helpers/sandbox-container.js";
import { ensureOpenClawImage } from "../helpers/openclaw-image.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE = "/opt/openclaw/node/bin/node";
const STUB_DELAY_MS = 8000;
const enabled = process.env.SANDBOX_SUPERVISOR_OPENCLAW_TESTS !== "0" && dockerAvailable();
const track = containerTracker("ssv-openclaw-flight");
const scratch = mkdtempSync(path.join(tmpdir(), "openclaw-flight-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The OpenClaw image with the model config baked in, built offline on top of it. */
async function imageWithModel(): Promise<string> {
  const base = ensureOpenClawImage();
  copyFileSync(path.join(HERE, "fixtures/openclaw-with-model.json"), path.join(scratch, "openclaw.json"));
  copyFileSync(path.join(HERE, "fixtures/model-stub.cjs"), path.join(scratch, "model-stub.cjs"));
  writeFileSync(
    path.join(scratch, "Dockerfile"),
    [
      `FROM ${base}`,
      "COPY openclaw.json /sandbox/.openclaw/openclaw.json",
      "COPY model-stub.cjs /usr/local/lib/model-stub.cjs",
      "RUN set -eu; cd /sandbox/.openclaw; sha256sum openclaw.json > .config-hash; chown root:root openclaw.json .config-hash; " +
        "chmod 0444 openclaw.json .config-hash; install -o root -g root -m 0444 openclaw.json /usr/local/share/sandbox-supervisor/openclaw.reference.json",
      "",
    ].join("\n"),
  );
  const tag = `${base.split(":")[0]}-with-model:test`;
  const built = await docker(["build", "--network", "none", "-q", "-t", tag, scratch], { timeoutMs: 300_000 });
  expect(built.code, built.stderr).toBe(0);
  return tag;
}

interface Status {
  state: string;
  gateway: { pid: number } | null;
  breaker: { tripped: boolean; uncleanBoots: number };
}

async function status(name: string): Promise<Status> {
  return JSON.parse((await exec(name, ["supervisor", "status", "--json"])).stdout) as Status;
}

/** One chat request through the gateway, as the sandbox user with the injected token. */
function chat(name: string): Promise<{ status: number; text: string; ms: number }> {
  const script = [
    "const t0=Date.now();",
    "fetch('http://127.0.0.1:18789/v1/chat/completions',{method:'POST',",
    "headers:{authorization:'Bearer '+process.env.OPENCLAW_GATEWAY_TOKEN,'content-type':'application/json'},",
    "body:JSON.stringify({model:'openclaw',stream:false,messages:[{role:'user',content:'say hi'}]})})",
    ".then(async r=>console.log(JSON.stringify({status:r.status,text:await r.text(),ms:Date.now()-t0})))",
    ".catch(e=>console.log(JSON.stringify({status:0,text:String(e.cause?.code??e),ms:Date.now()-t0})))",
  ].join("");
  return exec(name, ["bash", "-lc", `${NODE} -e "${script}"`], { user: "sandbox", timeoutMs: 600_000 }).then((result) => {
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { status: number; text: string; ms: number };
  });
}

describe.skipIf(!enabled)("OpenClaw image: an agent's reply in flight and `supervisor restart`", () => {
  it("completes the reply before the old gateway exits; the next boot is clean and the next request is served", async () => {
    const image = await imageWithModel();
    const name = track();
    await startContainer(name, [image]);
    let booted: Status | undefined;
    await waitFor(async () => (booted = await status(name)).state === "healthy", 120_000, 500);
    const started = await exec(name, ["sh", "-c", `${NODE} /usr/local/lib/model-stub.cjs 8000 ${STUB_DELAY_MS} >/tmp/model-stub.log 2>&1 &`], { user: "sandbox" });
    expect(started.code).toBe(0);

    const reply = chat(name);
    // The gateway has called the model: the reply is in flight now.
    await waitFor(async () => (await exec(name, ["cat", "/tmp/model-stub.log"])).stdout.includes("request POST"), 120_000, 200);
    const restartStarted = Date.now();
    const restart = await exec(name, ["supervisor", "restart", "--timeout", "150"], { timeoutMs: 600_000 });
    const restartMs = Date.now() - restartStarted;
    expect(restart.code, restart.stdout + restart.stderr).toBe(0);
    const answered = await reply;
    expect(answered.status, answered.text).toBe(200);
    expect(answered.text).toContain(`STUB-REPLY after ${STUB_DELAY_MS}ms`);

    const text = await logs(name);
    const replied = text.indexOf("[gateway] draining active work before stop");
    const exited = text.search(new RegExp(`gateway pid ${booted!.gateway!.pid} exited with 0 \\(expected`));
    expect(replied, text).toBeGreaterThanOrEqual(0);
    expect(exited).toBeGreaterThan(replied);
    expect(text).not.toMatch(/still running after .*SIGKILL/);
    const after = await status(name);
    expect(after.state).toBe("healthy");
    expect(after.breaker).toMatchObject({ tripped: false, uncleanBoots: 0 });

    const next = await chat(name);
    expect(next.status, next.text).toBe(200);
    console.log(`[openclaw in flight] reply ${answered.ms} ms with a ${STUB_DELAY_MS} ms model; restart ${restartMs} ms; next reply ${next.ms} ms`);
  }, 30 * 60_000);
});
