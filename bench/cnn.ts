/**
 * Section 8: the MNIST CNN of the examples issue — conv 5×5×20 → ReLU →
 * max-pool 2 → conv 5×5×40 → ReLU → max-pool 2 → dense 100 → ReLU → dense
 * 10, softmax cross-entropy — trained with plain SGD (lr 0.05) at batch 32
 * on real MNIST. Every system starts from the same weights (He-normal,
 * zero biases) and sees the same batches; each batch is copied out of the
 * float32 training set into fresh typed arrays inside the timed step.
 *
 * gradfx runs the step eagerly and under `jit` (core ops only: `conv2d`,
 * `maxPool2d`, `matmul`, `logSoftmax`); TensorFlow.js gets the same network
 * as `tf` ops (NHWC images, HWIO filters) and `tf.train.sgd().minimize`.
 * Seconds per epoch (60,000 images) are scaled from the median of timed
 * runs of a few steps each (fewer for tfjs-cpu, whose convolutions take
 * about a second each); "loss" is the mean loss on 500 training images
 * afterwards (untimed) — the systems should agree closely.
 */
import { NdArray, Tree, grad, jit } from "@gradfx/core"
import type * as Tf from "@tensorflow/tfjs"
import { useTf } from "./competitors.js"
import { QUICK, type Result, Notes, cell, fmt, isNa, median, normal32, printTable, reason, speedup } from "./harness.js"
import { copyBatch, loadMnistTrain, permutation } from "./mnistData.js"

const EPOCH = 60_000
const BATCH = 32
const LR = 0.05

interface Init {
  /** OIHW filters and dense weights [in, out], flat */
  readonly c1: Float32Array
  readonly c2: Float32Array
  readonly d1: Float32Array
  readonly d2: Float32Array
}

export const init = (): Init => ({
  c1: normal32(20 * 1 * 5 * 5, 31, Math.sqrt(2 / 25)),
  c2: normal32(40 * 20 * 5 * 5, 32, Math.sqrt(2 / 500)),
  d1: normal32(640 * 100, 33, Math.sqrt(2 / 640)),
  d2: normal32(100 * 10, 34, Math.sqrt(2 / 100))
})

/** OIHW → HWIO (tfjs's filter layout). */
const hwio = (w: Float32Array, o: number, i: number, k: number): Float32Array => {
  const out = new Float32Array(w.length)
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) out[((y * k + x) * i + b) * o + a] = w[((a * i + b) * k + y) * k + x]
  return out
}

/** gradfx flattens [N, 40, 4, 4] (CHW order); tfjs flattens [N, 4, 4, 40] (HWC): the dense weight rows are permuted to match. */
const hwcRows = (d1: Float32Array): Float32Array => {
  const out = new Float32Array(d1.length)
  for (let c = 0; c < 40; c++)
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++) {
        const chw = (c * 4 + y) * 4 + x
        const hwc = (y * 4 + x) * 40 + c
        out.set(d1.subarray(chw * 100, chw * 100 + 100), hwc * 100)
      }
  return out
}

interface Trainer {
  step(x: Float32Array, y: Float32Array, size: number): void
  loss(x: Float32Array, y: Float32Array, size: number): number
  dispose(): void
}

interface CnnParams {
  readonly c1: NdArray
  readonly b1: NdArray
  readonly c2: NdArray
  readonly b2: NdArray
  readonly d1: NdArray
  readonly e1: NdArray
  readonly d2: NdArray
  readonly e2: NdArray
}

/** ReLU as @gradfx/nn defines it: x · [x > 0]. */
const relu = (x: NdArray): NdArray => NdArray.mul(x, NdArray.astype(NdArray.greater(x, 0), x.dtype))

const gradfxLoss = (p: CnnParams, x: NdArray, y: NdArray): NdArray => {
  const bias = (b: NdArray) => NdArray.reshape(b, [1, -1, 1, 1])
  let h = relu(NdArray.add(NdArray.conv2d(x, p.c1), bias(p.b1)))
  h = NdArray.maxPool2d(h, { kernelSize: 2 })
  h = relu(NdArray.add(NdArray.conv2d(h, p.c2), bias(p.b2)))
  h = NdArray.maxPool2d(h, { kernelSize: 2 })
  h = NdArray.reshape(h, [x.shape[0], 640])
  h = relu(NdArray.add(NdArray.matmul(h, p.d1), p.e1))
  const logits = NdArray.add(NdArray.matmul(h, p.d2), p.e2)
  return NdArray.neg(NdArray.mean(NdArray.sum(NdArray.mul(y, NdArray.logSoftmax(logits, { axis: -1 })), { axis: -1 })))
}

export const gradfxStep = (p: CnnParams, x: NdArray, y: NdArray): CnnParams =>
  Tree.map(p, (w: NdArray, g: NdArray) => NdArray.sub(w, NdArray.mul(g, LR)), grad(gradfxLoss)(p, x, y)) as CnnParams

const gradfxTrainer = (w: Init, compiled: boolean): Trainer => {
  let p: CnnParams = {
    c1: NdArray.array(w.c1, { shape: [20, 1, 5, 5] }),
    b1: NdArray.zeros([20]),
    c2: NdArray.array(w.c2, { shape: [40, 20, 5, 5] }),
    b2: NdArray.zeros([40]),
    d1: NdArray.array(w.d1, { shape: [640, 100] }),
    e1: NdArray.zeros([100]),
    d2: NdArray.array(w.d2, { shape: [100, 10] }),
    e2: NdArray.zeros([10])
  }
  const step = compiled ? jit(gradfxStep) : gradfxStep
  const batch = (x: Float32Array, y: Float32Array, n: number) => [NdArray.array(x, { shape: [n, 1, 28, 28] }), NdArray.array(y, { shape: [n, 10] })] as const
  return {
    step: (x, y, n) => {
      p = step(p, ...batch(x, y, n))
    },
    loss: (x, y, n) => gradfxLoss(p, ...batch(x, y, n)).item(),
    dispose: () => {}
  }
}

const tfTrainer = async (backend: "cpu" | "wasm", w: Init): Promise<Result<Trainer>> => {
  const tf = await useTf(backend)
  if (isNa(tf)) return tf
  const v = {
    c1: tf.variable(tf.tensor4d(hwio(w.c1, 20, 1, 5), [5, 5, 1, 20])),
    b1: tf.variable(tf.zeros([20])),
    c2: tf.variable(tf.tensor4d(hwio(w.c2, 40, 20, 5), [5, 5, 20, 40])),
    b2: tf.variable(tf.zeros([40])),
    d1: tf.variable(tf.tensor2d(hwcRows(w.d1), [640, 100])),
    e1: tf.variable(tf.zeros([100])),
    d2: tf.variable(tf.tensor2d(w.d2, [100, 10])),
    e2: tf.variable(tf.zeros([10]))
  }
  const opt = tf.train.sgd(LR)
  const loss = (x: Tf.Tensor4D, y: Tf.Tensor2D): Tf.Scalar => {
    const a1 = tf.maxPool(tf.relu(tf.add<Tf.Tensor4D>(tf.conv2d(x, v.c1, 1, "valid"), v.b1)), 2, 2, "valid")
    const a2 = tf.maxPool(tf.relu(tf.add<Tf.Tensor4D>(tf.conv2d(a1, v.c2, 1, "valid"), v.b2)), 2, 2, "valid")
    const h = tf.relu(tf.add<Tf.Tensor2D>(tf.matMul(tf.reshape<Tf.Rank.R2>(a2, [x.shape[0], 640]), v.d1), v.e1))
    const logits = tf.add<Tf.Tensor2D>(tf.matMul(h, v.d2), v.e2)
    return tf.neg(tf.mean<Tf.Scalar>(tf.sum(tf.mul<Tf.Tensor2D>(y, tf.logSoftmax(logits)), -1)))
  }
  const withBatch = <A>(x: Float32Array, y: Float32Array, n: number, f: (xt: Tf.Tensor4D, yt: Tf.Tensor2D) => A): A => {
    const xt = tf.tensor4d(x, [n, 28, 28, 1])
    const yt = tf.tensor2d(y, [n, 10])
    try {
      return f(xt, yt)
    } finally {
      xt.dispose()
      yt.dispose()
    }
  }
  return {
    step: (x, y, n) => withBatch(x, y, n, (xt, yt) => void opt.minimize(() => loss(xt, yt))),
    loss: (x, y, n) =>
      withBatch(x, y, n, (xt, yt) => {
        const l = tf.tidy(() => loss(xt, yt))
        const value = l.dataSync()[0]
        l.dispose()
        return value
      }),
    dispose: () => {
      Object.values(v).forEach((t) => t.dispose())
      opt.dispose()
    }
  }
}

type System = "gradfx" | "gradfx-jit" | "tfjs-cpu" | "tfjs-wasm"

export const run = async (): Promise<void> => {
  const data = loadMnistTrain()
  const order = permutation(data.count, 77)
  const weights = init()
  const evalBatch = copyBatch(data, new Uint32Array(Array.from({ length: 500 }, (_, i) => i)), 0, 500)
  const notes = new Notes()
  const results: Array<[System, Result<{ secondsPerEpoch: number; loss: number; steps: number }>]> = []
  for (const system of ["gradfx", "gradfx-jit", "tfjs-cpu", "tfjs-wasm"] as const) {
    const steps = system === "tfjs-cpu" ? 2 : QUICK ? 20 : 60
    const warmup = system === "tfjs-cpu" ? 1 : 3
    const runs = QUICK || system === "tfjs-cpu" ? 1 : 3
    let trainer: Result<Trainer>
    try {
      trainer = system === "gradfx" || system === "gradfx-jit" ? gradfxTrainer(weights, system === "gradfx-jit") : await tfTrainer(system === "tfjs-cpu" ? "cpu" : "wasm", weights)
    } catch (e) {
      trainer = { na: reason(e) }
    }
    if (isNa(trainer)) {
      results.push([system, trainer])
      continue
    }
    try {
      let b = 0
      for (let i = 0; i < warmup; i++, b++) {
        const { x, y } = copyBatch(data, order, b, BATCH)
        trainer.step(x, y, BATCH)
      }
      const times: Array<number> = []
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now()
        for (let i = 0; i < steps; i++, b++) {
          const { x, y } = copyBatch(data, order, b, BATCH)
          trainer.step(x, y, BATCH)
        }
        times.push((performance.now() - t0) / 1000)
      }
      const perImage = median(times) / (steps * BATCH)
      results.push([system, { secondsPerEpoch: perImage * EPOCH, loss: trainer.loss(evalBatch.x, evalBatch.y, 500), steps }])
    } catch (e) {
      results.push([system, { na: reason(e) }])
    } finally {
      trainer.dispose()
    }
  }
  const g = results.find(([s]) => s === "gradfx-jit")![1]
  const gSec: Result<number> = isNa(g) ? g : g.secondsPerEpoch
  const rows = results.map(([system, r]) => {
    notes.na(system, r)
    const sec: Result<number> = isNa(r) ? r : r.secondsPerEpoch
    return [system, cell(sec), isNa(r) ? "n/a" : fmt(EPOCH / r.secondsPerEpoch, 3), system === "gradfx-jit" ? "" : speedup(gSec, sec), isNa(r) ? "n/a" : String(r.steps), isNa(r) ? "n/a" : fmt(r.loss, 4)]
  })
  notes.add(`s / epoch = median time of a run of "steps" batches of ${BATCH}, scaled to 60,000 images (after 3 warm-up steps, 1 for tfjs-cpu; ${QUICK ? "one run" : "median of 3 runs, 1 for tfjs-cpu"}); tfjs-wasm has no kernel for the filter gradient of conv2d, so it cannot train this network`)
  notes.add("vs gradfx-jit = that system's time / gradfx-jit's (above 1× gradfx-jit is faster); loss = mean loss on 500 training images afterwards")
  printTable("8. MNIST CNN (conv 5×5×20, pool, conv 5×5×40, pool, dense 100, dense 10) training, SGD, batch 32", ["system", "s / epoch", "images / s", "vs gradfx-jit", "steps", "loss"], rows, notes.all)
}
