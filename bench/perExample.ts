/**
 * Section 6: per-example gradients of the 784-100-10 MLP for a batch of 128:
 * `vmap(grad(lossOne), { inAxes: [null, 0, 0] })` (one call, gradients with a
 * leading batch axis) against a JS loop of 128 `grad(lossOne)` calls on
 * pre-split examples. tfjs has no vmap, so it appears with the loop only
 * (`tf.grads` per example); jax-js has both.
 */
import { NdArray, grad, vmap } from "@gradfx/core"
import { loadJax, refJax, settleJax, useTf } from "./competitors.js"
import { type Result, type Timing, Notes, QUICK, cell, fmt, isNa, measure, printTable, speedup } from "./harness.js"
import { IN, OUT, gradfxLossOne, gradfxParams, jaxLossOne, jaxParams, mlpInit, randomBatch, tfLoss, tfParams } from "./mlp.js"

const ms = (t: Result<Timing>): Result<number> => (isNa(t) ? t : t.median * 1e3)

export const run = async (): Promise<void> => {
  const B = 128
  const init = mlpInit(43)
  const batch = randomBatch(B, 8)
  const row = (d: Float32Array, i: number, w: number) => d.slice(i * w, (i + 1) * w)
  const opts = { warmup: 3, runs: QUICK ? 5 : 7, minRunSeconds: 0.1 }
  const notes = new Notes()

  const gradfx = async (): Promise<[Result<Timing>, Result<Timing>]> => {
    const p = gradfxParams(init)
    const X = NdArray.array(batch.x, { shape: [B, IN] })
    const Y = NdArray.array(batch.y, { shape: [B, OUT] })
    const xs = Array.from({ length: B }, (_, i) => NdArray.array(row(batch.x, i, IN)))
    const ys = Array.from({ length: B }, (_, i) => NdArray.array(row(batch.y, i, OUT)))
    const g = grad(gradfxLossOne)
    const perExample = vmap(g, { inAxes: [null, 0, 0] })
    return [
      await measure(() => () => perExample(p, X, Y), opts),
      await measure(() => () => {
        for (let i = 0; i < B; i++) g(p, xs[i], ys[i])
      }, opts)
    ]
  }

  const tfjs = async (backend: "cpu" | "wasm"): Promise<[Result<Timing>, Result<Timing>]> => {
    const tf = await useTf(backend)
    if (isNa(tf)) return [tf, tf]
    const params = tfParams(tf, init)
    const xs = Array.from({ length: B }, (_, i) => tf.tensor2d(row(batch.x, i, IN), [1, IN]))
    const ys = Array.from({ length: B }, (_, i) => tf.tensor2d(row(batch.y, i, OUT), [1, OUT]))
    try {
      const loop = await measure(() => () => {
        for (let i = 0; i < B; i++) {
          const g = tf.grads((w1: any, b1: any, w2: any, b2: any) => tfLoss(tf, w1, b1, w2, b2, xs[i], ys[i]))
          g(params).forEach((t) => t.dispose())
        }
      }, opts)
      return [{ na: "tfjs has no vmap" }, loop]
    } finally {
      ;[...params, ...xs, ...ys].forEach((t) => t.dispose())
    }
  }

  const jaxjs = async (): Promise<[Result<Timing>, Result<Timing>]> => {
    const jl = await loadJax()
    if (isNa(jl)) return [jl, jl]
    const { jax, np } = jl
    const p = jaxParams(jax, init)
    const X = np.array(batch.x).reshape([B, IN])
    const Y = np.array(batch.y).reshape([B, OUT])
    const xs = Array.from({ length: B }, (_, i) => np.array(row(batch.x, i, IN)))
    const ys = Array.from({ length: B }, (_, i) => np.array(row(batch.y, i, OUT)))
    const g = jax.grad(jaxLossOne(jax))
    const perExample = jax.vmap(g, [null, 0, 0])
    return [
      await measure(() => () => settleJax(perExample(refJax(p), X.ref, Y.ref)), opts),
      await measure(() => async () => {
        const out: Array<unknown> = []
        for (let i = 0; i < B; i++) out.push(g(refJax(p), xs[i].ref, ys[i].ref))
        await settleJax(out)
      }, opts)
    ]
  }

  const results: Array<[string, Result<number>, Result<number>]> = []
  for (const [name, f] of [
    ["gradfx", gradfx],
    ["tfjs-cpu", () => tfjs("cpu")],
    ["tfjs-wasm", () => tfjs("wasm")],
    ["jax-js", jaxjs]
  ] as const) {
    const [v, loop] = await f()
    if (!(isNa(v) && v.na === "tfjs has no vmap")) notes.na(`${name} vmap`, v)
    notes.na(`${name} loop`, loop)
    results.push([name, ms(v), ms(loop)])
  }
  const [, gV, gLoop] = results[0]
  const rows = results.map(([name, v, loop]) => [
    name,
    cell(v),
    cell(loop),
    isNa(v) || isNa(loop) ? "n/a" : `${fmt(loop / v, 2)}×`,
    name === "gradfx" ? "" : speedup(gV, v),
    name === "gradfx" ? "" : speedup(gLoop, loop)
  ])
  notes.add(`ms for all ${B} per-example gradients (median). loop ÷ vmap: how much vmap saves`)
  notes.add("vs gradfx = that system's time / gradfx's (above 1× gradfx is faster); tfjs has no vmap")
  printTable(
    `6. per-example gradients: MLP ${IN}-100-${OUT}, batch ${B}`,
    ["system", "vmap(grad) ms", `loop of ${B} grad ms`, "loop ÷ vmap", "vmap vs gradfx", "loop vs gradfx"],
    rows,
    notes.all
  )
}
