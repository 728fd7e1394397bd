/**
 * Section 5: per-call overhead on a tiny input, where dispatch, tracing and
 * bookkeeping dominate arithmetic: f(x) = sum(sin(x) * x) on a length-10
 * float32 vector, eagerly and under `grad` (tfjs: `tf.grad`; jax-js: `grad`),
 * then both wrapped in `jit` (gradfx's and jax-js's; tfjs has none). Every
 * call reads its 1 or 10 result values back into JS (`.data()` /
 * `.dataSync()`), so lazy systems do all their work inside it.
 */
import { NdArray, grad, jit } from "@gradfx/core"
import { type JaxArray, type TfTensor, loadJax, useTf } from "./competitors.js"
import { type Result, type Timing, Notes, QUICK, cell, isNa, measure, printTable, speedup, uniform32 } from "./harness.js"

const us = (t: Result<Timing>): Result<number> => (isNa(t) ? t : t.median * 1e6)

export const run = async (): Promise<void> => {
  const data = uniform32(10, 21)
  const opts = { warmup: 5000, runs: QUICK ? 5 : 9, minRunSeconds: 0.1 }
  const notes = new Notes()

  const gradfx = async (compiled: boolean): Promise<[Result<Timing>, Result<Timing>]> => {
    const x = NdArray.array(data)
    const f = (x: NdArray) => NdArray.sum(NdArray.mul(NdArray.sin(x), x))
    const g = grad(f)
    const [fc, gc] = compiled ? [jit(f), jit(g)] : [f, g]
    return [await measure(() => () => fc(x).data(), opts), await measure(() => () => gc(x).data(), opts)]
  }

  const tfjs = async (backend: "cpu" | "wasm"): Promise<[Result<Timing>, Result<Timing>]> => {
    const tf = await useTf(backend)
    if (isNa(tf)) return [tf, tf]
    const x = tf.tensor1d(data)
    const f = (x: TfTensor) => tf.sum(tf.mul(tf.sin(x), x))
    const g = tf.grad(f)
    const read = (t: TfTensor) => {
      t.dataSync()
      t.dispose()
    }
    try {
      return [
        await measure(() => () => read(tf.tidy(() => f(x))), opts),
        await measure(() => () => read(g(x)), opts)
      ]
    } finally {
      x.dispose()
    }
  }

  const jaxjs = async (compiled: boolean): Promise<[Result<Timing>, Result<Timing>]> => {
    const jl = await loadJax()
    if (isNa(jl)) return [jl, jl]
    const { jax, np } = jl
    const x = np.array(data)
    const f0 = (x: JaxArray) => np.sum(np.multiply(np.sin(x.ref), x))
    const g0 = jax.grad(f0)
    const [f, g] = compiled ? [jax.jit(f0), jax.jit(g0)] : [f0, g0]
    const read = (t: JaxArray) => t.dataSync() // realises the array and releases it
    return [await measure(() => () => read(f(x.ref)), opts), await measure(() => () => read(g(x.ref)), opts)]
  }

  const results: Array<[string, Result<number>, Result<number>]> = []
  for (const [name, f] of [
    ["gradfx", () => gradfx(false)],
    ["gradfx jit", () => gradfx(true)],
    ["tfjs-cpu", () => tfjs("cpu")],
    ["tfjs-wasm", () => tfjs("wasm")],
    ["jax-js", () => jaxjs(false)],
    ["jax-js jit", () => jaxjs(true)]
  ] as const) {
    const [plain, withGrad] = await f()
    notes.na(name, isNa(plain) ? plain : withGrad)
    results.push([name, us(plain), us(withGrad)])
  }
  const [, gPlain, gGrad] = results[0]
  const rows = results.map(([name, plain, withGrad]) => [
    name,
    cell(plain),
    cell(withGrad),
    name === "gradfx" ? "" : speedup(gPlain, plain),
    name === "gradfx" ? "" : speedup(gGrad, withGrad)
  ])
  notes.add("µs per call (median of runs of many calls), lower is better; includes reading the result back into JS")
  notes.add("vs gradfx = that system's time / gradfx's (above 1× gradfx is faster)")
  printTable(
    "5. small-input overhead: f(x) = sum(sin(x) * x), x of length 10 (µs per call)",
    ["system", "f(x) µs", "grad(f)(x) µs", "f vs gradfx", "grad vs gradfx"],
    rows,
    notes.all
  )
}
