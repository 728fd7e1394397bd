/**
 * The lesson's three-layer feed-forward network with fixed weights
 * (note 000, "前馈神经网络"): x → sigmoid(x·W₁) → sigmoid(·W₂) → softmax(·W₃),
 * first on one input, then on a batch as one matrix, then with `vmap` over
 * single inputs — the three must agree row for row. Everything is float64,
 * so the outputs match NumPy's to all printed digits.
 *
 * @since 0.1.0
 */
import { NdArray, vmap } from "@gradfx/core"
import { Effect } from "effect"
import { barChart } from "../plot.js"
import { numbers, show, showMatrix } from "../runtime.js"

const f64 = { dtype: "float64" } as const

/** The lesson's weights: W₁ 3×4, W₂ 4×4, W₃ 4×3. */
export const weights = {
  w1: NdArray.array([[2, -1, 1, 4], [-1, 2, -3, 1], [3, -2, -1, 5]], f64),
  w2: NdArray.array([[3, 1, -2, 1], [-2, 4, 1, -4], [-1, -3, 2, -5], [3, 1, 1, 1]], f64),
  w3: NdArray.array([[-1, 3, -2], [1, -1, -3], [3, -2, 2], [1, 2, 1]], f64)
}
export type Weights = typeof weights

/** The single input `x_in` and the batch `x_mat_in` of the lesson. */
export const xIn = NdArray.array([0.5, 0.8, 0.2], f64)
export const xMatIn = NdArray.array(
  [[0.5, 0.8, 0.2], [0.1, 0.9, 0.6], [0.2, 0.2, 0.3], [0.6, 0.1, 0.9], [0.5, 0.5, 0.4], [0.9, 0.1, 0.9], [0.1, 0.8, 0.7]],
  f64
)

/** Every intermediate of the forward pass: z₂ = x·W₁, a₂ = σ(z₂), z₃, a₃, z₄ and the output softmax(z₄). */
export interface Activations {
  readonly z2: NdArray
  readonly a2: NdArray
  readonly z3: NdArray
  readonly a3: NdArray
  readonly z4: NdArray
  readonly yOut: NdArray
}

/**
 * The forward pass on one input `[3]` or a batch `[n, 3]` (the same code:
 * `matmul` treats a vector as a row, softmax works on the last axis).
 */
export const forwardPass = (w: Weights, x: NdArray): Activations => {
  const z2 = NdArray.matmul(x, w.w1)
  const a2 = NdArray.sigmoid(z2)
  const z3 = NdArray.matmul(a2, w.w2)
  const a3 = NdArray.sigmoid(z3)
  const z4 = NdArray.matmul(a3, w.w3)
  return { z2, a2, z3, a3, z4, yOut: NdArray.softmax(z4) }
}

/** The network as a function of one input: the class probabilities `[3]`. */
export const predict = (w: Weights, x: NdArray): NdArray => forwardPass(w, x).yOut

/** What the example computes. */
export interface FeedforwardResult {
  readonly single: Activations
  /** `[7, 3]`: the batch as one matrix. */
  readonly batch: NdArray
  /** `[7, 3]`: `vmap(predict)` over the rows. */
  readonly vmapped: NdArray
  /** The largest |batch − vmapped| and |batch row 0 − single|. */
  readonly maxDifference: number
  readonly figures: Record<string, ReturnType<typeof barChart>>
}

/**
 * Run the lesson: log z₂, a₂ and the output for `x_in`, the batch output,
 * and the `vmap` check.
 *
 * @since 0.1.0
 */
export const run = Effect.fn("feedforward/run")(function* (config: { readonly inputs?: NdArray } = {}) {
  const inputs = config.inputs ?? xMatIn
  const single = forwardPass(weights, xIn)
  yield* Effect.log(`z_2 = ${show(numbers(single.z2), 1)}`)
  yield* Effect.log(`a_2 = ${show(numbers(single.a2))}`)
  yield* Effect.log(`y_out = ${show(numbers(single.yOut))}`)
  const batch = forwardPass(weights, inputs).yOut
  yield* Effect.log(`batch y_out (${inputs.shape[0]} inputs as one matrix):\n${showMatrix(batch)}`)
  const vmapped = vmap((x: NdArray) => predict(weights, x), { inAxes: [0] })(inputs)
  const rowZero = NdArray.slice(batch, [0])
  const maxDifference = Math.max(
    NdArray.max(NdArray.abs(NdArray.sub(batch, vmapped))).item(),
    NdArray.max(NdArray.abs(NdArray.sub(rowZero, single.yOut))).item()
  )
  yield* Effect.log(`vmap(predict) over the rows: max |difference| from the batch = ${maxDifference}`)
  const rows = (numbers(batch) as Array<number>).map((p, i) => ({ input: `x${Math.floor(i / 3)}`, category: `class ${i % 3}`, value: p }))
  return {
    single,
    batch,
    vmapped,
    maxDifference,
    figures: { "batch-probabilities": barChart({ title: "Softmax output per input (x_mat_in)", rows }) }
  } satisfies FeedforwardResult
})
