import { describe, expect, it } from "vitest"
import { buildMatmulModule, defaultShapes } from "../../../src/backend/wasm/matmulKernel.js"
import { WorkerPool } from "../../../src/backend/wasm/pool.js"
import { G, GLOBAL_WORDS, RELEASE } from "../../../src/backend/wasm/worker.js"

interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => { readonly buffer: ArrayBufferLike }
}
const W = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

describe("wasm worker pool", () => {
  it("reports a failing job and releases every barrier", () => {
    const maxPages = 64
    const module = new W.Module(buildMatmulModule({ f32: defaultShapes.f32, f64: defaultShapes.f64, fma: false, shared: true, maxPages }))
    const memory = new W.Memory({ initial: 16, maximum: maxPages, shared: true })
    const pool = WorkerPool.create(module, memory, 1)
    expect(pool).toBeDefined()
    if (pool === undefined) return
    try {
      expect(pool.waitReady(1, 10_000)).toBe(1)
      const g = pool.ctrl
      g.fill(0, 0, GLOBAL_WORDS)
      // a job whose packed-B address is far outside the memory: the worker's wasm traps
      g[G.OP] = 0
      g[G.B] = 0
      g[G.BRS] = 32
      g[G.BCS] = 4
      g[G.BP] = 0x7fff0000
      g[G.KP] = 8
      g[G.K] = 8
      g[G.N] = 8
      g[G.M] = 8
      g[G.ELT] = 4
      g[G.TOTAL] = 8
      g[G.LDC] = 32
      g[G.MINB] = 8
      g[G.UNIT] = 1
      g[G.DIV] = 2
      g[G.WS] = 64
      g[G.WSSTRIDE] = 1 << 16
      g[G.A_ROWS] = 8
      g[G.B_ROWS] = 8
      g[G.PACK_TASKS] = 1
      g[G.PACK_GROUPS] = 1
      g[G.B_SLICE] = 8
      g[G.NR] = 12
      pool.post(1)
      // the main thread does not take part: wait for the worker to give up
      const deadline = Date.now() + 10_000
      while (Atomics.load(g, G.FAILED) === 0 && Date.now() < deadline) Atomics.wait(g, G.FAILED, 0, 10)
      expect(Atomics.load(g, G.FAILED)).toBe(1)
      expect(Atomics.load(g, G.PACK_DONE)).toBeGreaterThanOrEqual(RELEASE) // released
      expect(Atomics.load(g, G.B_ROWS)).toBeGreaterThanOrEqual(RELEASE)
      pool.finish()
      expect(Atomics.load(g, G.ACTIVE)).toBe(0)
      // the worker survives and serves the next job
      g.fill(0, 0, GLOBAL_WORDS)
      g[G.A_ROWS] = 8
      g[G.TOTAL] = 0
      pool.post(1)
      Atomics.wait(g, G.ACTIVE, 0, 50) // give the worker a moment to join (it may or may not)
      pool.finish()
      expect(Atomics.load(g, G.FAILED)).toBe(0)
      expect(pool.ready()).toBe(1)
    } finally {
      pool.shutdown()
    }
  })
})
