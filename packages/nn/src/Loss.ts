/**
 * Loss functions and parameter penalties. Every loss takes
 * `(predictions, targets, options)` and a `reduction`: `"mean"` (default)
 * averages the per-element (regression, binary) or per-example
 * (classification) losses, `"sum"` adds them, `"none"` returns them.
 * Losses on logits are computed from log-probabilities so they stay finite
 * for logits of any size; targets are constants (no gradient is meant to
 * flow into them, although it does where the formula allows).
 *
 * Shapes are checked: predictions and targets must have the same shape
 * (no silent broadcasting of [N, 1] against [N]); a mismatch throws core's
 * `ShapeError` naming the loss.
 *
 * @since 0.1.0
 */
import { NdArray, optionsObject, ShapeError, Tree, ValueError } from "@gradfx/core"
import { softplus } from "./Activation.js"

/** How per-element losses are combined. */
export type Reduction = "mean" | "sum" | "none"

/** Options shared by every loss. */
export interface ReductionOptions {
  /** Default `"mean"`. */
  readonly reduction?: Reduction
}

const reduce = (op: string, x: NdArray, reduction: Reduction | undefined): NdArray => {
  switch (reduction ?? "mean") {
    case "mean":
      return NdArray.mean(x)
    case "sum":
      return NdArray.sum(x)
    case "none":
      return x
    default:
      throw new ValueError({ op, hint: `reduction must be "mean", "sum" or "none", got ${JSON.stringify(reduction)}` })
  }
}

const sameShape = (op: string, a: NdArray, b: NdArray): void => {
  if (a.ndim !== b.ndim || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError({ op, shapes: [a.shape, b.shape], hint: "predictions and targets must have the same shape (reshape one of them; losses never broadcast)" })
  }
}

const isInteger = (x: NdArray): boolean => x.dtype === "int32" || x.dtype === "bool"

/** The values of a concrete array, or null for a tracer (whose values cannot be read). */
const concreteValues = (x: NdArray): ArrayLike<number> | null => {
  try {
    return x.data()
  } catch {
    return null
  }
}

/**
 * Per-example negative log-likelihood from log-probabilities along `axis`,
 * with integer labels (shape of `logProbs` without `axis`) or one-hot /
 * probability targets (the shape of `logProbs`).
 */
const pickNegLogLikelihood = (op: string, logProbs: NdArray, targets: NdArray, axisOption: number | undefined): NdArray => {
  if (logProbs.ndim === 0) throw new ShapeError({ op, shapes: [logProbs.shape, targets.shape], hint: "expects at least one (class) axis" })
  const axis = axisOption === undefined ? logProbs.ndim - 1 : axisOption < 0 ? axisOption + logProbs.ndim : axisOption
  if (axis < 0 || axis >= logProbs.ndim) throw new ShapeError({ op, shapes: [logProbs.shape], hint: `class axis ${axisOption} is out of range` })
  const classes = logProbs.shape[axis]
  const exampleShape = logProbs.shape.filter((_, i) => i !== axis)
  const isLabels = targets.ndim === exampleShape.length && targets.shape.every((d, i) => d === exampleShape[i])
  if (isLabels) {
    const labels = isInteger(targets) ? NdArray.astype(targets, "int32") : NdArray.astype(NdArray.round(targets), "int32")
    const values = concreteValues(labels)
    if (values !== null) {
      for (let i = 0; i < values.length; i++) {
        if (values[i] < 0 || values[i] >= classes) throw new ValueError({ op, hint: `label ${values[i]} is out of range for ${classes} classes` })
      }
    }
    const picked = NdArray.takeAlongAxis(logProbs, NdArray.expandDims(labels, axis), axis)
    return NdArray.neg(NdArray.squeeze(picked, axis))
  }
  if (targets.ndim === logProbs.ndim && targets.shape.every((d, i) => d === logProbs.shape[i])) {
    return NdArray.neg(NdArray.sum(NdArray.mul(targets, logProbs), { axis }))
  }
  throw new ShapeError({
    op,
    shapes: [logProbs.shape, targets.shape],
    hint: `targets must be integer labels of shape [${exampleShape.join(", ")}] or one-hot/probabilities of shape [${logProbs.shape.join(", ")}]`
  })
}

/**
 * Mean squared error: mean((ŷ − y)²). With `half: true` each term is
 * ½(ŷ − y)², the convention of the classic texts whose derivative is simply
 * (ŷ − y). Nielsen's quadratic cost C = 1/2n Σₓ‖y(x) − a‖² (a sum over
 * outputs, a mean over the n examples) is
 * `Loss.mse(a, y, { half: true, reduction: "sum" }) / n`.
 *
 * @example
 * Loss.mse(NdArray.array([1, 2]), NdArray.array([1, 4]))                  // 2
 * Loss.mse(NdArray.array([1, 2]), NdArray.array([1, 4]), { half: true })  // 1
 * @category losses
 * @since 0.1.0
 */
export const mse = (predictions: NdArray, targets: NdArray, opts?: ReductionOptions & { readonly half?: boolean }): NdArray => {
  const options = optionsObject("Loss.mse", opts, `Loss.mse(p, t, { reduction: "sum" })`)
  sameShape("Loss.mse", predictions, targets)
  const sq = NdArray.square(NdArray.sub(predictions, targets))
  return reduce("Loss.mse", options.half ? NdArray.mul(sq, 0.5) : sq, options.reduction)
}

/**
 * Mean absolute error: mean|ŷ − y| (PyTorch's `L1Loss`).
 *
 * @example
 * Loss.meanAbsoluteError(NdArray.array([1, 2]), NdArray.array([0, 4])) // 1.5
 * @category losses
 * @since 0.1.0
 */
export const meanAbsoluteError = (predictions: NdArray, targets: NdArray, opts?: ReductionOptions): NdArray => {
  const options = optionsObject("Loss.meanAbsoluteError", opts, `Loss.meanAbsoluteError(p, t, { reduction: "sum" })`)
  sameShape("Loss.meanAbsoluteError", predictions, targets)
  return reduce("Loss.meanAbsoluteError", NdArray.abs(NdArray.sub(predictions, targets)), options.reduction)
}

/**
 * Huber loss (PyTorch's `HuberLoss`): ½d² for |d| ≤ δ, δ(|d| − ½δ) beyond,
 * d = ŷ − y, default δ = 1. The quadratic piece is computed from d itself
 * (not |d|), so even the second derivative at d = 0 is right.
 *
 * @example
 * Loss.huber(NdArray.array([0.5, 3]), NdArray.array([0, 0]), { reduction: "none" }) // [0.125, 2.5]
 * @category losses
 * @since 0.1.0
 */
export const huber = (predictions: NdArray, targets: NdArray, opts?: ReductionOptions & { readonly delta?: number }): NdArray => {
  const options = optionsObject("Loss.huber", opts, "Loss.huber(p, t, { delta: 0.5 })")
  sameShape("Loss.huber", predictions, targets)
  const delta = options.delta ?? 1
  if (!(delta > 0)) throw new ValueError({ op: "Loss.huber", hint: `delta must be positive, got ${delta}` })
  const d = NdArray.sub(predictions, targets)
  const a = NdArray.abs(d)
  const terms = NdArray.where(NdArray.lessEqual(a, delta), NdArray.mul(NdArray.square(d), 0.5), NdArray.mul(NdArray.sub(a, 0.5 * delta), delta))
  return reduce("Loss.huber", terms, options.reduction)
}

/**
 * Binary cross-entropy on probabilities: −[y log p + (1 − y) log(1 − p)].
 * p is clipped to [ε, 1 − ε] (default ε = 1e-7, as Keras) so a saturated
 * prediction costs −log ε ≈ 16 instead of ∞ and its gradient is 0, not NaN.
 * (PyTorch clamps the logarithms at −100 instead.) Prefer
 * `binaryCrossEntropyWithLogits` when you have the logits.
 *
 * @example
 * Loss.binaryCrossEntropy(NdArray.array([0.9, 0.2]), NdArray.array([1, 0]))
 * @category losses
 * @since 0.1.0
 */
export const binaryCrossEntropy = (probabilities: NdArray, targets: NdArray, opts?: ReductionOptions & { readonly eps?: number }): NdArray => {
  const options = optionsObject("Loss.binaryCrossEntropy", opts, `Loss.binaryCrossEntropy(p, t, { reduction: "sum" })`)
  sameShape("Loss.binaryCrossEntropy", probabilities, targets)
  const eps = options.eps ?? 1e-7
  const p = NdArray.clip(probabilities, eps, 1 - eps)
  const terms = NdArray.add(NdArray.mul(targets, NdArray.log(p)), NdArray.mul(NdArray.sub(1, targets), NdArray.log1p(NdArray.neg(p))))
  return reduce("Loss.binaryCrossEntropy", NdArray.neg(terms), options.reduction)
}

/**
 * Binary cross-entropy from logits z (PyTorch's `BCEWithLogitsLoss`):
 * −[y log σ(z) + (1 − y) log(1 − σ(z))] = softplus(z) − z·y, with the
 * stable `Activation.softplus`: exact and finite for any z.
 *
 * @example
 * Loss.binaryCrossEntropyWithLogits(NdArray.array([1000, -1000]), NdArray.array([1, 0])) // 0
 * @category losses
 * @since 0.1.0
 */
export const binaryCrossEntropyWithLogits = (logits: NdArray, targets: NdArray, opts?: ReductionOptions): NdArray => {
  const options = optionsObject("Loss.binaryCrossEntropyWithLogits", opts, `Loss.binaryCrossEntropyWithLogits(z, t, { reduction: "sum" })`)
  sameShape("Loss.binaryCrossEntropyWithLogits", logits, targets)
  const terms = NdArray.sub(softplus(logits), NdArray.mul(logits, targets))
  return reduce("Loss.binaryCrossEntropyWithLogits", terms, options.reduction)
}

/** Options of the classification losses. */
export interface ClassificationOptions extends ReductionOptions {
  /** The class axis (default −1). */
  readonly axis?: number
}

/**
 * Softmax cross-entropy from logits: −log softmax(z)[label] per example,
 * with `targets` either integer labels (the logits' shape without the class
 * axis, e.g. [N] for [N, K] logits) or one-hot / probability rows (the
 * logits' shape), where it is −Σₖ yₖ log softmax(z)ₖ. Uses `logSoftmax`, so
 * it is finite for logits of any size. Labels out of range throw a
 * `ValueError` (when they are concrete).
 *
 * @example
 * const logits = NdArray.array([[2, 0, -1], [0, 3, 0]])
 * Loss.softmaxCrossEntropy(logits, NdArray.array([0, 1], { dtype: "int32" }))
 * Loss.softmaxCrossEntropy(logits, NdArray.oneHot([0, 1], 3))             // the same
 * @category losses
 * @since 0.1.0
 */
export const softmaxCrossEntropy = (logits: NdArray, targets: NdArray, opts?: ClassificationOptions): NdArray => {
  const options = optionsObject("Loss.softmaxCrossEntropy", opts, `Loss.softmaxCrossEntropy(z, labels, { reduction: "sum" })`)
  const axis = options.axis ?? -1
  return reduce("Loss.softmaxCrossEntropy", pickNegLogLikelihood("Loss.softmaxCrossEntropy", NdArray.logSoftmax(logits, { axis }), targets, axis), options.reduction)
}

/**
 * Negative log-likelihood of log-probabilities (PyTorch's `NLLLoss`, for the
 * output of `logSoftmax`): −logp[label] per example, with integer labels or
 * one-hot targets as in `softmaxCrossEntropy`.
 *
 * @example
 * Loss.nll(Activation.logSoftmax(logits), labels) // = Loss.softmaxCrossEntropy(logits, labels)
 * @category losses
 * @since 0.1.0
 */
export const nll = (logProbabilities: NdArray, targets: NdArray, opts?: ClassificationOptions): NdArray => {
  const options = optionsObject("Loss.nll", opts, `Loss.nll(logp, labels, { reduction: "sum" })`)
  return reduce("Loss.nll", pickNegLogLikelihood("Loss.nll", logProbabilities, targets, options.axis), options.reduction)
}

/** Options of the parameter penalties. */
export interface PenaltyOptions {
  /** λ, the regularisation strength (default 1). */
  readonly lambda?: number
  /** n, the size of the training set in Nielsen's λ/n scaling (default 1). */
  readonly n?: number
  /** Which leaves are penalised, by dotted path ("0.w") and value; default every float leaf. */
  readonly filter?: (path: string, leaf: NdArray) => boolean
}

const penalty = (op: string, params: unknown, options: PenaltyOptions, term: (w: NdArray) => NdArray, factor: number): NdArray => {
  const lambda = options.lambda ?? 1
  const n = options.n ?? 1
  if (!(n > 0)) throw new ValueError({ op, hint: `n must be positive, got ${n}` })
  const paths = Tree.paths(params)
  const leaves = Tree.leaves(params)
  let total: NdArray | null = null
  leaves.forEach((leaf, i) => {
    const w = typeof leaf === "number" ? NdArray.scalar(leaf) : leaf
    if (w.dtype !== "float32" && w.dtype !== "float64") return
    if (options.filter && !options.filter(paths[i], w)) return
    const s = NdArray.sum(term(w))
    total = total === null ? s : NdArray.add(total, s)
  })
  return NdArray.mul(total ?? NdArray.scalar(0), (lambda * factor) / n)
}

/**
 * L2 penalty over a parameter pytree, (λ/2n) Σ w², the weight-decay term of
 * C = C₀ + λ/2n Σ w² (Nielsen ch. 3); defaults λ = 1, n = 1 give ½ Σ w².
 * Nielsen penalises weights but not biases: pass a `filter`.
 *
 * @example
 * const cost = NdArray.add(Loss.softmaxCrossEntropy(logits, labels),
 *   Loss.l2(params, { lambda: 5, n: 50_000, filter: (path) => path.endsWith("w") }))
 * @category losses
 * @since 0.1.0
 */
export const l2 = (params: unknown, options?: PenaltyOptions): NdArray =>
  penalty("Loss.l2", params, optionsObject("Loss.l2", options, "Loss.l2(params, { lambda: 5, n: 60000 })"), NdArray.square, 0.5)

/**
 * L1 penalty over a parameter pytree, (λ/n) Σ |w| (Nielsen ch. 3's L1
 * regularisation); defaults λ = 1, n = 1.
 *
 * @example
 * const cost = NdArray.add(c0, Loss.l1(params, { lambda: 1e-4 }))
 * @category losses
 * @since 0.1.0
 */
export const l1 = (params: unknown, options?: PenaltyOptions): NdArray =>
  penalty("Loss.l1", params, optionsObject("Loss.l1", options, "Loss.l1(params, { lambda: 5, n: 60000 })"), NdArray.abs, 1)
