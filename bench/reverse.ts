/**
 * Section 4: the cost of reverse mode. For the 784-100-10 MLP loss on a batch
 * of 128 (sigmoid hidden layer, softmax cross-entropy), time the plain
 * forward pass and `valueAndGrad` (loss and the gradients of all four
 * parameters), and report valueAndGrad / forward per system. Tape-based and
 * JAX-like systems land around 2–4×: the backward pass of a dense layer costs
 * two products for the forward's one.
 */
import { NdArray, valueAndGrad } from "@gradfx/core"
import { loadJax, refJax, settleJax, useTf } from "./competitors.js"
import { type Result, type Timing, Notes, QUICK, cell, fmt, isNa, measure, printTable, speedup } from "./harness.js"
import { IN, OUT, gradfxLoss, gradfxParams, jaxLoss, jaxParams, mlpInit, randomBatch, tfLoss, tfParams } from "./mlp.js"

const ms = (t: Result<Timing>): Result<number> => (isNa(t) ? t : t.median * 1e3)

export const run = async (): Promise<void> => {
  const B = 128
  const init = mlpInit(42)
  const batch = randomBatch(B, 7)
  const opts = { warmup: 5, runs: QUICK ? 5 : 9, minRunSeconds: 0.1 }
  const notes = new Notes()

  const gradfx = async (): Promise<[Result<Timing>, Result<Timing>]> => {
    const p = gradfxParams(init)
    const x = NdArray.array(batch.x, { shape: [B, IN] })
    const y = NdArray.array(batch.y, { shape: [B, OUT] })
    const vg = valueAndGrad(gradfxLoss)
    return [await measure(() => () => gradfxLoss(p, x, y), opts), await measure(() => () => vg(p, x, y), opts)]
  }

  const tfjs = async (backend: "cpu" | "wasm"): Promise<[Result<Timing>, Result<Timing>]> => {
    const tf = await useTf(backend)
    if (isNa(tf)) return [tf, tf]
    const params = tfParams(tf, init)
    const x = tf.tensor2d(batch.x, [B, IN])
    const y = tf.tensor2d(batch.y, [B, OUT])
    const f = (w1: any, b1: any, w2: any, b2: any) => tfLoss(tf, w1, b1, w2, b2, x, y)
    const vg = tf.valueAndGrads(f)
    try {
      return [
        await measure(() => () => tf.tidy(() => f(...params)).dispose(), opts),
        await measure(() => () => {
          const { value, grads } = vg(params)
          value.dispose()
          grads.forEach((g) => g.dispose())
        }, opts)
      ]
    } finally {
      ;[...params, x, y].forEach((t) => t.dispose())
    }
  }

  const jaxjs = async (): Promise<[Result<Timing>, Result<Timing>]> => {
    const jl = await loadJax()
    if (isNa(jl)) return [jl, jl]
    const { jax, np } = jl
    const p = jaxParams(jax, init)
    const x = np.array(batch.x).reshape([B, IN])
    const y = np.array(batch.y).reshape([B, OUT])
    const loss = jaxLoss(jax)
    const vg = jax.valueAndGrad(loss)
    return [
      await measure(() => () => settleJax(loss(refJax(p), x.ref, y.ref)), opts),
      await measure(() => () => settleJax(vg(refJax(p), x.ref, y.ref)), opts)
    ]
  }

  const results: Array<[string, Result<number>, Result<number>]> = []
  for (const [name, f] of [
    ["gradfx", gradfx],
    ["tfjs-cpu", () => tfjs("cpu")],
    ["tfjs-wasm", () => tfjs("wasm")],
    ["jax-js", jaxjs]
  ] as const) {
    const [fwd, vg] = await f()
    notes.na(name, isNa(fwd) ? fwd : vg)
    results.push([name, ms(fwd), ms(vg)])
  }
  const gradfxVg = results[0][2]
  const rows = results.map(([name, fwd, vg]) => [
    name,
    cell(fwd),
    cell(vg),
    isNa(fwd) || isNa(vg) ? "n/a" : `${fmt(vg / fwd, 2)}×`,
    name === "gradfx" ? "" : speedup(gradfxVg, vg)
  ])
  notes.add("ms per call (median). cost = valueAndGrad / forward (JAX-like systems reach ~3×)")
  notes.add("vs gradfx = that system's valueAndGrad time / gradfx's (above 1× gradfx is faster)")
  printTable(
    `4. reverse-mode cost: MLP ${IN}-100-${OUT}, batch ${B}`,
    ["system", "forward ms", "valueAndGrad ms", "cost", "vs gradfx"],
    rows,
    notes.all
  )
}
