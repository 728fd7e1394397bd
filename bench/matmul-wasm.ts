/**
 * Benchmark of the WebAssembly SIMD matmul (packages/core/src/backend/wasm)
 * against a naive JS triple loop.
 *
 *   npx pnpm exec tsx bench/matmul-wasm.ts
 *
 * For every size: warm-up, then the median of ≥5 timed runs (each run repeats
 * the product enough times to last a few milliseconds). GFLOP/s = 2·m·k·n / t.
 */
import { loadavg } from "node:os"
import { matmulWasm, setThreads, warmUpThreads, wasmAvailable } from "../packages/core/src/backend/wasm/index.js"

type FloatArray = Float32Array | Float64Array

const random = (Ctor: Float32ArrayConstructor | Float64ArrayConstructor, size: number): FloatArray => {
  const x = new Ctor(size)
  for (let i = 0; i < size; i++) x[i] = Math.random() * 2 - 1
  return x
}

/** The naive i-j-p loop a plain JS backend would run. */
const naive = (a: FloatArray, b: FloatArray, c: FloatArray, m: number, k: number, n: number): void => {
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j]
      c[i * n + j] = s
    }
}

const median = (xs: Array<number>): number => {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.floor(s.length / 2)]
}

/** Median seconds per call of `f` over `runs` timed runs of `reps` calls each. */
const timeIt = (f: () => void, flops: number, runs: number, targetSeconds: number): number => {
  const t0 = performance.now()
  f()
  const once = Math.max(1e-6, (performance.now() - t0) / 1000)
  const reps = Math.max(1, Math.round(targetSeconds / once))
  const times: Array<number> = []
  for (let r = 0; r < runs; r++) {
    const s = performance.now()
    for (let i = 0; i < reps; i++) f()
    times.push((performance.now() - s) / 1000 / reps)
  }
  return flops / median(times) / 1e9
}

const main = (): void => {
  const load = loadavg()[0]
  if (!wasmAvailable()) {
    console.log("WebAssembly SIMD is not available here")
    return
  }
  const cases: Array<{ dtype: "float32" | "float64"; n: number }> = [
    { dtype: "float32", n: 128 },
    { dtype: "float32", n: 256 },
    { dtype: "float32", n: 512 },
    { dtype: "float32", n: 1024 },
    { dtype: "float64", n: 512 }
  ]
  const rows: Array<Array<string>> = []
  for (const { dtype, n } of cases) {
    const Ctor = dtype === "float32" ? Float32Array : Float64Array
    const a = random(Ctor, n * n)
    const b = random(Ctor, n * n)
    const c = new Ctor(n * n)
    const flops = 2 * n * n * n
    const wasmRun = () => {
      if (!matmulWasm(a, 0, n, 1, b, 0, n, 1, c, 0, n, n, n)) throw new Error("matmulWasm declined")
    }
    const gflops: Array<number> = []
    for (const t of [1, 2]) {
      setThreads(t)
      const used = warmUpThreads()
      if (used !== t) console.log(`(only ${used} thread(s) available for the ${t}-thread column)`)
      for (let i = 0; i < 5; i++) wasmRun() // warm-up (tier-up to optimized code, memory growth)
      gflops.push(timeIt(wasmRun, flops, 7, 0.05))
    }
    const js = timeIt(() => naive(a, b, c, n, n, n), flops, n >= 1024 ? 3 : 5, 0.02)
    rows.push([
      dtype,
      String(n),
      gflops[0].toFixed(1),
      gflops[1].toFixed(1),
      js.toFixed(2),
      `${(gflops[0] / js).toFixed(0)}×`,
      `${(gflops[1] / js).toFixed(0)}×`
    ])
  }
  setThreads(1)
  const header = ["dtype", "n", "wasm 1T", "wasm 2T", "naive JS", "1T/JS", "2T/JS"]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells: Array<string>) => "| " + cells.map((x, i) => x.padStart(widths[i])).join(" | ") + " |"
  console.log("matmul n×n×n, GFLOP/s (median of 7 runs after warm-up)")
  console.log(line(header))
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|")
  for (const r of rows) console.log(line(r))
  console.log(
    `1-minute load average before the run: ${load.toFixed(2)}` +
      (load > 0.5 ? " (other work ran recently; if it still runs, the figures — threaded ones especially — are pessimistic)" : "")
  )
}

main()
