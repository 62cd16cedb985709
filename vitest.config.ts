import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/helpers/native-fs-setup.ts"],
    // Black-box tests start real processes and containers: give them room, and keep
    // files sequential so two container tests never fight over the machine's two cores.
    testTimeout: 120_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
