import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@gradfx\/core\/testing$/, replacement: here("./packages/core/src/Testing.ts") },
      { find: /^@gradfx\/core$/, replacement: here("./packages/core/src/index.ts") },
      { find: /^@gradfx\/nn$/, replacement: here("./packages/nn/src/index.ts") },
      { find: /^@gradfx\/data$/, replacement: here("./packages/data/src/index.ts") },
      { find: /^@gradfx\/cli$/, replacement: here("./packages/cli/src/index.ts") }
    ]
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
