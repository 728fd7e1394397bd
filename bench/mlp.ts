/**
 * The 784-100-10 MLP used by several sections, written once per system with
 * identical mathematics: h = sigmoid(x·W1 + b1), logits = h·W2 + b2,
 * loss = mean over the batch of −Σ y ⊙ logSoftmax(logits) (y one-hot).
 * Every system starts from the same float32 initial values.
 */
import { NdArray, Tree, valueAndGrad } from "@gradfx/core"
import type * as TfNamespace from "@tensorflow/tfjs"
import type { Jax, JaxArray, Tf, TfTensor } from "./competitors.js"
import { normal32, rng, uniform32 } from "./harness.js"

export const IN = 784
export const HIDDEN = 100
export const OUT = 10

/** Initial values (Glorot-style normal, zero biases), as flat float32 buffers. */
export interface MlpInit {
  readonly w1: Float32Array
  readonly b1: Float32Array
  readonly w2: Float32Array
  readonly b2: Float32Array
}

export const mlpInit = (seed = 42, sizes: readonly [number, number, number] = [IN, HIDDEN, OUT]): MlpInit => {
  const [i, h, o] = sizes
  return {
    w1: normal32(i * h, seed, Math.sqrt(2 / (i + h))),
    b1: new Float32Array(h),
    w2: normal32(h * o, seed + 1, Math.sqrt(2 / (h + o))),
    b2: new Float32Array(o)
  }
}

/** A batch of `n` random "images" in [0, 1) and random one-hot labels. */
export const randomBatch = (n: number, seed: number, inDim = IN, outDim = OUT): { x: Float32Array; y: Float32Array } => {
  const x = uniform32(n * inDim, seed).map((v) => (v + 1) / 2)
  const r = rng(seed + 1)
  const y = new Float32Array(n * outDim)
  for (let i = 0; i < n; i++) y[i * outDim + Math.floor(r() * outDim)] = 1
  return { x, y }
}

// ---------------------------------------------------------------------------
// gradfx

export interface GradfxParams {
  readonly w1: NdArray
  readonly b1: NdArray
  readonly w2: NdArray
  readonly b2: NdArray
}

export const gradfxParams = (d: MlpInit): GradfxParams => {
  const h = d.b1.length
  const o = d.b2.length
  return {
    w1: NdArray.array(d.w1, { shape: [d.w1.length / h, h] }),
    b1: NdArray.array(d.b1),
    w2: NdArray.array(d.w2, { shape: [h, o] }),
    b2: NdArray.array(d.b2)
  }
}

/** Batched loss: x [n, in], y [n, out] one-hot. */
export const gradfxLoss = (p: GradfxParams, x: NdArray, y: NdArray): NdArray => {
  const h = NdArray.sigmoid(NdArray.add(NdArray.matmul(x, p.w1), p.b1))
  const logits = NdArray.add(NdArray.matmul(h, p.w2), p.b2)
  return NdArray.neg(NdArray.mean(NdArray.sum(NdArray.mul(y, NdArray.logSoftmax(logits)), { axis: -1 })))
}

/** One example's loss: x [in], y [out] (for vmap and per-example loops). */
export const gradfxLossOne = (p: GradfxParams, x: NdArray, y: NdArray): NdArray => {
  const h = NdArray.sigmoid(NdArray.add(NdArray.dot(x, p.w1), p.b1))
  const logits = NdArray.add(NdArray.dot(h, p.w2), p.b2)
  return NdArray.neg(NdArray.sum(NdArray.mul(y, NdArray.logSoftmax(logits))))
}

const gradfxValueAndGrad = valueAndGrad(gradfxLoss)

/** One plain SGD step with core ops only: p ← p − lr·∇loss. Returns the new params and the loss. */
export const gradfxSgdStep = (p: GradfxParams, x: NdArray, y: NdArray, lr: number): [GradfxParams, NdArray] => {
  const [loss, g] = gradfxValueAndGrad(p, x, y)
  return [Tree.map(p, (w: NdArray, gw: NdArray) => NdArray.sub(w, NdArray.mul(gw, lr)), g) as GradfxParams, loss]
}

// ---------------------------------------------------------------------------
// TensorFlow.js

/** The batched loss; the weights are matrices and x, y [n, in] / [n, out] (tfjs's generic tensors narrowed to their rank). */
export const tfLoss = (tf: Tf, w1: TfTensor, b1: TfTensor, w2: TfTensor, b2: TfTensor, x: TfTensor, y: TfTensor): TfNamespace.Scalar => {
  const h = tf.sigmoid(tf.add<TfNamespace.Tensor2D>(tf.matMul(x as TfNamespace.Tensor2D, w1 as TfNamespace.Tensor2D), b1))
  const logits = tf.add<TfNamespace.Tensor2D>(tf.matMul(h, w2 as TfNamespace.Tensor2D), b2)
  return tf.neg(tf.mean<TfNamespace.Scalar>(tf.sum(tf.mul<TfNamespace.Tensor2D>(y, tf.logSoftmax(logits)), -1)))
}

export const tfParams = (tf: Tf, d: MlpInit): [TfTensor, TfTensor, TfTensor, TfTensor] => {
  const h = d.b1.length
  const o = d.b2.length
  return [tf.tensor2d(d.w1, [d.w1.length / h, h]), tf.tensor1d(d.b1), tf.tensor2d(d.w2, [h, o]), tf.tensor1d(d.b2)]
}

// ---------------------------------------------------------------------------
// jax-js (arguments are consumed: each is used exactly once below)

export interface JaxParams {
  readonly w1: JaxArray
  readonly b1: JaxArray
  readonly w2: JaxArray
  readonly b2: JaxArray
}

export const jaxParams = (jax: Jax, d: MlpInit): JaxParams => {
  const np = jax.numpy
  const h = d.b1.length
  const o = d.b2.length
  return {
    w1: np.array(d.w1).reshape([d.w1.length / h, h]),
    b1: np.array(d.b1),
    w2: np.array(d.w2).reshape([h, o]),
    b2: np.array(d.b2)
  }
}

export const jaxLoss = (jax: Jax) => (p: JaxParams, x: JaxArray, y: JaxArray): JaxArray => {
  const { numpy: np, nn } = jax
  const h = nn.sigmoid(np.add(np.matmul(x, p.w1), p.b1))
  const logits = np.add(np.matmul(h, p.w2), p.b2)
  return np.negative(np.mean(np.sum(np.multiply(y, nn.logSoftmax(logits, -1)), -1)))
}

export const jaxLossOne = (jax: Jax) => (p: JaxParams, x: JaxArray, y: JaxArray): JaxArray => {
  const { numpy: np, nn } = jax
  const h = nn.sigmoid(np.add(np.dot(x, p.w1), p.b1))
  const logits = np.add(np.dot(h, p.w2), p.b2)
  return np.negative(np.sum(np.multiply(y, nn.logSoftmax(logits, -1))))
}
