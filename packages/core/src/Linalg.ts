/**
 * Linear algebra in NumPy's and JAX's names: `solve`, `inv`, `det`, `pinv`,
 * `lstsq`, `norm`. All are differentiable in both modes and batch over
 * leading dimensions.
 *
 * @since 0.1.0
 */
import { ShapeError } from "./Errors.js"
import { axisOptions, broadcastShapes } from "./interpreter/aval.js"
import type { NdArray } from "./interpreter/ndarray.js"
import * as N from "./NdArray.js"
import { promote } from "./ops/coerce.js"
import * as P from "./primitives/index.js"
import { det as detPrimitive, solve as solvePrimitive } from "./primitives/linalg.js"

const floatPair = (op: string, a: NdArray, b: NdArray): [NdArray, NdArray] => {
  const [x, y] = promote(op, [a, b], "float")
  return [x, y]
}

/**
 * Solve A·x = b for x. `b` may be a vector [..., n] or a matrix [..., n, k];
 * batch dims broadcast. A singular A is a `ValueError`.
 *
 * @example
 * const x = Linalg.solve(NdArray.array([[3, 1], [1, 2]]), NdArray.array([9, 8])) // [2, 3]
 * @category linear algebra
 * @since 0.1.0
 */
export const solve = (a: NdArray, b: NdArray): NdArray => {
  const [x, y] = floatPair("solve", a, b)
  const vector = y.ndim === 1 // NumPy 2 semantics: only a 1-d b is a vector
  const rhs = vector ? P.reshape(y, [...y.shape, 1]) : y
  if (rhs.ndim < 2) throw new ShapeError({ op: "solve", shapes: [x.shape, y.shape], hint: "a must be [..., n, n] and b [..., n] or [..., n, k]" })
  const batchShape = broadcastShapes("solve", x.shape.slice(0, -2), rhs.shape.slice(0, -2))
  const A = P.broadcastTo(x, [...batchShape, ...x.shape.slice(-2)])
  const B = P.broadcastTo(rhs, [...batchShape, ...rhs.shape.slice(-2)])
  const out = solvePrimitive(A, B)
  return vector ? P.reshape(out, out.shape.slice(0, -1)) : out
}


/** The inverse of square matrices. @category linear algebra @since 0.1.0 */
export const inv = (a: NdArray): NdArray => {
  const [x] = promote("inv", [a], "float")
  const n = x.shape[x.ndim - 1]
  return solve(x, P.broadcastTo(N.eye(n, { dtype: x.dtype }), x.shape))
}

/** Determinants of square matrices. @category linear algebra @since 0.1.0 */
export const det = (a: NdArray): NdArray => detPrimitive(promote("det", [a], "float")[0])

/**
 * The Moore–Penrose pseudo-inverse of a full-rank matrix: (AᵀA)⁻¹Aᵀ for a
 * tall A, Aᵀ(AAᵀ)⁻¹ for a wide one (computed through `solve`, so
 * differentiable). A rank-deficient A is a `ValueError` (singular normal
 * equations) — NumPy's SVD-based `pinv` handles that case; gradfx does not
 * have an SVD yet.
 *
 * @category linear algebra
 * @since 0.1.0
 */
export const pinv = (a: NdArray): NdArray => {
  const [x] = promote("pinv", [a], "float")
  if (x.ndim < 2) throw new ShapeError({ op: "pinv", shapes: [x.shape], hint: "expects a matrix [..., m, n]" })
  const m = x.shape[x.ndim - 2]
  const n = x.shape[x.ndim - 1]
  const xt = P.swapLast(x)
  if (m >= n) return solve(P.matmul(xt, x), xt)
  return P.swapLast(solve(P.matmul(x, xt), x))
}

/**
 * Least-squares solution of A·x ≈ b for a full-column-rank A (via the
 * pseudo-inverse). `b` may be a vector or a matrix.
 *
 * @example
 * const theta = Linalg.lstsq(X, y) // minimises ‖X·θ − y‖²
 * @category linear algebra
 * @since 0.1.0
 */
export const lstsq = (a: NdArray, b: NdArray): NdArray => {
  const [x, y] = floatPair("lstsq", a, b)
  return N.matmul(pinv(x), y)
}

/** The Euclidean (Frobenius) norm over `axis` (default all). @category linear algebra @since 0.1.0 */
export const norm = (x: NdArray, options?: N.ReduceOptions): NdArray => N.sqrt(N.sum(N.square(x), axisOptions("norm", options)))
