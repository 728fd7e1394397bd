/**
 * Section 1: dense matrix product C = A·B of two n×n matrices.
 * GFLOP/s = 2n³ / t. Same float32 inputs for every system; each call makes a
 * fresh product (tfjs/jax-js results are disposed inside the timed call, as
 * their users must). f64 at n = 512 is gradfx only (tfjs has no float64).
 */
import { NdArray } from "@gradfx/core"
import { matmulWasm } from "../packages/core/src/backend/wasm/index.js"
import { residentAlloc, residentFree } from "../packages/core/src/backend/wasm/kernels.js"
import { loadJax, useTf } from "./competitors.js"
import { type Result, type Timing, Notes, QUICK, cell, isNa, measure, printTable, speedup, uniform32 } from "./harness.js"

const gflops = (n: number, t: Result<Timing>): Result<number> => (isNa(t) ? t : (2 * n ** 3) / t.median / 1e9)

const options = (n: number) => ({ warmup: n >= 1024 ? 1 : 3, warmupSeconds: 0.5, runs: QUICK ? 5 : n >= 1024 ? 5 : 7, minRunSeconds: 0.1 })

export const run = async (): Promise<void> => {
  const sizes = QUICK ? [128, 512] : [128, 256, 512, 1024]
  const notes = new Notes()
  const rows: Array<Array<string>> = []
  for (const n of sizes) {
    const a = uniform32(n * n, 1)
    const b = uniform32(n * n, 2)
    const g = await measure(() => {
      const x = NdArray.array(a, { shape: [n, n] })
      const y = NdArray.array(b, { shape: [n, n] })
      return () => NdArray.matmul(x, y)
    }, options(n))
    const tfTime = async (backend: "cpu" | "wasm") => {
      const tf = await useTf(backend)
      if (isNa(tf)) return tf
      const x = tf.tensor2d(a, [n, n])
      const y = tf.tensor2d(b, [n, n])
      try {
        return await measure(() => () => tf.matMul(x, y).dispose(), options(n))
      } finally {
        x.dispose()
        y.dispose()
      }
    }
    const cpu = await tfTime("cpu")
    const wasm = await tfTime("wasm")
    const jl = await loadJax()
    const jax = isNa(jl)
      ? jl
      : await measure(() => {
        const x = jl.np.array(a).reshape([n, n])
        const y = jl.np.array(b).reshape([n, n])
        return async () => {
          const c = jl.np.matmul(x.ref, y.ref)
          await c.blockUntilReady()
          c.dispose()
        }
      }, options(n))
    notes.na("gradfx", g)
    notes.na("tfjs-cpu", cpu)
    notes.na("tfjs-wasm", wasm)
    notes.na("jax-js", jax)
    const [G, C, W, J] = [gflops(n, g), gflops(n, cpu), gflops(n, wasm), gflops(n, jax)]
    // GFLOP/s are rates, so the competitor's time over gradfx's is gradfx's rate over theirs.
    const inv = (x: Result<number>): Result<number> => (isNa(x) ? x : 1 / x)
    rows.push([`f32 n=${n}`, cell(G), cell(C), cell(W), cell(J), speedup(inv(G), inv(C)), speedup(inv(G), inv(W)), speedup(inv(G), inv(J))])
    if (n >= 512) {
      // the same product with A, B and C already in gradfx's WebAssembly memory
      const buffers: Array<Float32Array> = []
      const r = await measure(() => {
        for (let i = 0; i < 3; i++) {
          const x = residentAlloc("float32", n * n)
          if (!(x instanceof Float32Array)) throw new Error("no shared WebAssembly memory (js backend)")
          buffers.push(x)
        }
        const [x, y, z] = buffers
        x.set(a)
        y.set(b)
        return () => {
          if (!matmulWasm(x, 0, n, 1, y, 0, n, 1, z, 0, n, n, n)) throw new Error("the WebAssembly product declined")
        }
      }, options(n))
      for (const x of buffers) residentFree(x)
      notes.na("gradfx in wasm memory", r)
      const R = gflops(n, r)
      rows.push([`  in wasm memory¹`, cell(R), "", "", "", "", speedup(inv(R), inv(W)), speedup(inv(R), inv(J))])
    }
  }
  {
    const n = 512
    const toF64 = (x: Float32Array) => Float64Array.from(x)
    const a = toF64(uniform32(n * n, 1))
    const b = toF64(uniform32(n * n, 2))
    const g = await measure(() => {
      const x = NdArray.array(a, { shape: [n, n] })
      const y = NdArray.array(b, { shape: [n, n] })
      return () => NdArray.matmul(x, y)
    }, options(n))
    notes.na("gradfx f64", g)
    rows.push([`f64 n=${n}`, cell(gflops(n, g)), "n/a", "n/a", "n/a", "", "", ""])
    notes.add("f64: gradfx only (tfjs has no float64; jax-js's wasm float64 not timed)")
  }
  notes.add("GFLOP/s = 2n³ / median time per product; higher is better. vs X = X's time / gradfx's time (above 1× gradfx is faster)")
  notes.add(
    "¹ the same product with A, B and C already in gradfx's WebAssembly memory (the internal matmulWasm on resident buffers), as the products between a jitted program's intermediates run, and as tfjs-wasm's tensors live in its heap: no copies in or out and no fresh output. An eager product also copies A and B in and C out into a fresh array, whose first-touch page faults cost most of the difference (bench/README)"
  )
  printTable(
    "1. matmul (GFLOP/s)",
    ["case", "gradfx", "tfjs-cpu", "tfjs-wasm", "jax-js", "vs cpu", "vs wasm", "vs jax-js"],
    rows,
    notes.all
  )
}
