/**
 * One SGD training step of the 784-100-10 MLP for each system, behind one
 * interface, so the epoch timing (section 7) and the memory probe (section 8)
 * drive every system the same way: a batch arrives as freshly copied typed
 * arrays, the system turns them into its arrays, computes the loss gradient
 * and updates its parameters with plain SGD (p ← p − lr·g).
 *
 * - gradfx: `valueAndGrad` + `Tree.map` of NdArray ops (core only), eager.
 * - gradfx-jit: the same step function under `jit` (traced once, then replayed
 *   as one program with fused elementwise loops), the parameters and the
 *   batch donated (`donateArgnums`, as JAX training loops do: the parameters
 *   are updated in place, like tfjs's variables, and the batch's memory
 *   holds the next batch).
 * - gradfx-optim: the same with `Optim.sgd` from @gradfx/nn, when that exists.
 * - tfjs-cpu / tfjs-wasm: `tf.variable` parameters and `tf.train.sgd(lr).minimize`.
 */
import { NdArray, jit, valueAndGrad } from "@gradfx/core"
import { useTf } from "./competitors.js"
import { type Result, isNa, reason } from "./harness.js"
import { type GradfxParams, type MlpInit, IN, OUT, gradfxLoss, gradfxParams, gradfxSgdStep, tfLoss } from "./mlp.js"

export type System = "gradfx" | "gradfx-jit" | "gradfx-optim" | "tfjs-cpu" | "tfjs-wasm"

export interface Trainer {
  /** one SGD step on a batch of `size` examples */
  step(x: Float32Array, y: Float32Array, size: number): void
  /** the loss on a batch (untimed checks) */
  loss(x: Float32Array, y: Float32Array, size: number): number
  dispose(): void
}

const gradfxTrainer = (init: MlpInit, lr: number, compiled: boolean): Trainer => {
  let p = gradfxParams(init)
  const step = compiled ? jit(gradfxSgdStep, { donateArgnums: [0, 1, 2] }) : gradfxSgdStep
  return {
    step: (x, y, size) => {
      ;[p] = step(p, NdArray.array(x, { shape: [size, IN] }), NdArray.array(y, { shape: [size, OUT] }), lr)
    },
    loss: (x, y, size) => gradfxLoss(p, NdArray.array(x, { shape: [size, IN] }), NdArray.array(y, { shape: [size, OUT] })).item(),
    dispose: () => {}
  }
}

/** @gradfx/nn's `Optim.sgd` in the Optax shape ({ init, update } + applyUpdates), if the package provides it. */
const gradfxOptimTrainer = async (init: MlpInit, lr: number): Promise<Result<Trainer>> => {
  const spec = "@gradfx/nn"
  let nn: { Optim?: { sgd?: unknown; applyUpdates?: unknown } }
  try {
    nn = await import(spec)
  } catch (e) {
    const missing = (e as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && reason(e).includes("'@gradfx/nn'")
    return { na: missing ? "@gradfx/nn is not there yet" : `@gradfx/nn did not load: ${reason(e)}` }
  }
  const Optim = nn.Optim
  if (typeof Optim?.sgd !== "function" || typeof Optim.applyUpdates !== "function") return { na: "@gradfx/nn exports no Optim.sgd / Optim.applyUpdates yet" }
  type Tx = { init: (p: unknown) => unknown; update: (g: unknown, s: unknown, p?: unknown) => [unknown, unknown] }
  const tx = (Optim.sgd as (lr: number) => Tx)(lr)
  const apply = Optim.applyUpdates as (p: unknown, u: unknown) => GradfxParams
  let p = gradfxParams(init)
  let state = tx.init(p)
  const vg = valueAndGrad(gradfxLoss)
  return {
    step: (x, y, size) => {
      const [, g] = vg(p, NdArray.array(x, { shape: [size, IN] }), NdArray.array(y, { shape: [size, OUT] }))
      const [updates, next] = tx.update(g, state, p)
      state = next
      p = apply(p, updates)
    },
    loss: (x, y, size) => gradfxLoss(p, NdArray.array(x, { shape: [size, IN] }), NdArray.array(y, { shape: [size, OUT] })).item(),
    dispose: () => {}
  }
}

const tfTrainer = async (backend: "cpu" | "wasm", init: MlpInit, lr: number): Promise<Result<Trainer>> => {
  const tf = await useTf(backend)
  if (isNa(tf)) return tf
  const h = init.b1.length
  const w1 = tf.variable(tf.tensor2d(init.w1, [IN, h]))
  const b1 = tf.variable(tf.tensor1d(init.b1))
  const w2 = tf.variable(tf.tensor2d(init.w2, [h, OUT]))
  const b2 = tf.variable(tf.tensor1d(init.b2))
  const opt = tf.train.sgd(lr)
  const withBatch = <A>(x: Float32Array, y: Float32Array, size: number, f: (xt: any, yt: any) => A): A => {
    const xt = tf.tensor2d(x, [size, IN])
    const yt = tf.tensor2d(y, [size, OUT])
    try {
      return f(xt, yt)
    } finally {
      xt.dispose()
      yt.dispose()
    }
  }
  return {
    step: (x, y, size) =>
      withBatch(x, y, size, (xt, yt) => {
        opt.minimize(() => tfLoss(tf, w1, b1, w2, b2, xt, yt))
      }),
    loss: (x, y, size) =>
      withBatch(x, y, size, (xt, yt) => {
        const l = tf.tidy(() => tfLoss(tf, w1, b1, w2, b2, xt, yt))
        const v = l.dataSync()[0]
        l.dispose()
        return v
      }),
    dispose: () => {
      ;[w1, b1, w2, b2].forEach((v) => v.dispose())
      opt.dispose()
    }
  }
}

/** A fresh trainer for `system` starting from `init`, or why there is none. */
export const makeTrainer = async (system: System, init: MlpInit, lr: number): Promise<Result<Trainer>> => {
  try {
    switch (system) {
      case "gradfx":
        return gradfxTrainer(init, lr, false)
      case "gradfx-jit":
        return gradfxTrainer(init, lr, true)
      case "gradfx-optim":
        return await gradfxOptimTrainer(init, lr)
      case "tfjs-cpu":
        return await tfTrainer("cpu", init, lr)
      case "tfjs-wasm":
        return await tfTrainer("wasm", init, lr)
    }
  } catch (e) {
    return { na: reason(e) }
  }
}
