/**
 * Evaluation metrics. They are not differentiable (they compare argmaxes)
 * and return arrays, so they also run on traced values; call `.item()` for a
 * JavaScript number.
 *
 * @since 0.1.0
 */
import { NdArray, ShapeError, ValueError } from "@gradfx/core"

const sameShape = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => a.length === b.length && a.every((d, i) => d === b[i])

/**
 * Predicted class indices from predictions: logits/probabilities `[..., K]`
 * (argmax over the last axis), or already class indices (int32).
 */
const predictedClasses = (predictions: NdArray, labelShape: ReadonlyArray<number>): NdArray => {
  if (predictions.dtype === "int32" && sameShape(predictions.shape, labelShape)) return predictions
  return NdArray.argmax(predictions, { axis: -1 })
}

/**
 * Classification accuracy, the fraction of examples classified correctly (a
 * float32 scalar). `predictions` are scores `[..., K]` (logits or
 * probabilities; the argmax is the prediction) or class indices (int32);
 * `labels` are class indices `[...]` or one-hot rows `[..., K]`. For a
 * binary classifier with one output per example (`[N]` or `[N, 1]`
 * probabilities, same shape as the 0/1 labels), the prediction is
 * `p ≥ threshold` (default 0.5; pass `threshold: 0` for logits).
 *
 * @example
 * Metrics.accuracy(NdArray.array([[0.1, 0.9], [0.8, 0.2]]), NdArray.array([1, 1], { dtype: "int32" })).item() // 0.5
 * @category metrics
 * @since 0.1.0
 */
export const accuracy = (predictions: NdArray, labels: NdArray, options: { readonly threshold?: number } = {}): NdArray => {
  const binary =
    sameShape(predictions.shape, labels.shape) &&
    predictions.dtype !== "int32" &&
    (options.threshold !== undefined || predictions.ndim <= 1 || predictions.shape[predictions.ndim - 1] === 1)
  if (binary) {
    const predicted = NdArray.greaterEqual(predictions, options.threshold ?? 0.5)
    const truth = NdArray.greaterEqual(labels, 0.5)
    return NdArray.mean(NdArray.equal(predicted, truth))
  }
  let classes = labels
  if (labels.dtype !== "int32") {
    // one-hot (or probability) rows, or float class indices
    classes = sameShape(labels.shape, predictions.shape) && predictions.dtype !== "int32" ? NdArray.argmax(labels, { axis: -1 }) : NdArray.astype(NdArray.round(labels), "int32")
  }
  const predicted = predictedClasses(predictions, classes.shape)
  if (!sameShape(predicted.shape, classes.shape)) {
    throw new ShapeError({ op: "Metrics.accuracy", shapes: [predictions.shape, labels.shape], hint: "predictions [..., K] need labels [...] (class indices) or [..., K] (one-hot)" })
  }
  return NdArray.mean(NdArray.equal(predicted, classes))
}

/**
 * The confusion matrix C (int32 `[K, K]`): C[i, j] counts the examples of
 * true class i predicted as class j (rows are the truth, as scikit-learn).
 * `predictions` are scores `[N, K]` or class indices `[N]`; `labels` are
 * class indices `[N]` or one-hot rows `[N, K]`. Computed as
 * oneHot(labels)ᵀ · oneHot(predicted), with no loop over the examples.
 *
 * @example
 * const c = Metrics.confusionMatrix(logits, labels, 10)
 * // c.toArray()[3][5]: how many 3s were taken for 5s
 * @category metrics
 * @since 0.1.0
 */
export const confusionMatrix = (predictions: NdArray, labels: NdArray, numClasses: number): NdArray => {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ValueError({ op: "Metrics.confusionMatrix", hint: `numClasses must be a positive integer, got ${numClasses}` })
  const classes = labels.dtype === "int32" ? labels : labels.ndim === 2 ? NdArray.argmax(labels, { axis: -1 }) : NdArray.astype(NdArray.round(labels), "int32")
  const predicted = predictions.ndim === 2 ? NdArray.argmax(predictions, { axis: -1 }) : NdArray.astype(predictions, "int32")
  if (classes.ndim !== 1 || !sameShape(predicted.shape, classes.shape)) {
    throw new ShapeError({ op: "Metrics.confusionMatrix", shapes: [predictions.shape, labels.shape], hint: "expects [N, K] scores or [N] classes, and [N] labels or [N, K] one-hot rows" })
  }
  const truth = NdArray.oneHot(classes, numClasses, { dtype: "float64" })
  const guess = NdArray.oneHot(predicted, numClasses, { dtype: "float64" })
  return NdArray.astype(NdArray.round(NdArray.matmul(NdArray.transpose(truth), guess)), "int32")
}
