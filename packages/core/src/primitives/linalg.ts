/**
 * `solve` and `det` on batches of square matrices [..., n, n]. Reason: they
 * cannot be composed from elementwise primitives (LU factorisation with
 * partial pivoting). `inv`, `pinv` and `lstsq` are composed from `solve` in
 * `Linalg.ts`.
 */
import * as cpu from "../backend/cpu/index.js"
import * as lin from "../backend/cpu/linalg.js"
import { DTypeError, ShapeError, ValueError } from "../Errors.js"
import { isFloat, sameShape, ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { ArrayValue, definePrimitive, isUndef, type Primitive } from "../interpreter/primitive.js"
import { bind1 } from "../interpreter/trace.js"
import { batchToFront } from "./batching.js"
import { mul, sub } from "./elementwise.js"
import { matmul, swapLast } from "./matmul.js"
import { reduceSum } from "./reduce.js"
import { reshape } from "./shape.js"

const squareBatch = (op: string, a: ShapedArray): [number, number] => {
  const n = a.shape[a.ndim - 1]
  if (a.ndim < 2 || a.shape[a.ndim - 2] !== n) throw new ShapeError({ op, shapes: [a.shape], hint: "expects square matrices [..., n, n]" })
  if (!isFloat(a.dtype)) throw new DTypeError({ op, dtypes: [a.dtype], hint: "expects a float array" })
  return [a.size / Math.max(n * n, 1), n]
}

const contiguous = (x: ArrayValue): cpu.Buffer => (x.isContiguous && x.offset === 0 ? x.buffer : cpu.contiguous(x))

const singular = (op: string, e: unknown): never => {
  if (e instanceof lin.SingularMatrix) throw new ValueError({ op, hint: `${e.message}: the system has no unique solution` })
  throw e
}

/** X = A⁻¹B. dX = A⁻¹(dB − dA·X); linear in B with transpose B̄ = A⁻ᵀ·X̄. */
export const Solve: Primitive<Record<string, never>> = definePrimitive({
  name: "solve",
  abstractEval: ([a, b]) => {
    squareBatch("solve", a)
    if (b.ndim !== a.ndim || !sameShape(a.shape.slice(0, -1), b.shape.slice(0, -1)) || a.dtype !== b.dtype) {
      throw new ShapeError({ op: "solve", shapes: [a.shape, b.shape], hint: "b must be [..., n, k] with the batch dims and dtype of a" })
    }
    return [b]
  },
  impl: ([a, b], _, [out]) => {
    const [batch, n] = squareBatch("solve", a.aval)
    const k = b.shape[b.ndim - 1]
    try {
      return [ArrayValue.fromBuffer(lin.solve(contiguous(a), contiguous(b), batch, n, k, out.dtype), out.dtype, out.shape)]
    } catch (e) {
      return singular("solve", e)
    }
  },
  jvp: ([a, b], [aDot, bDot]) => {
    const x = solve(a, b)
    const rhs = aDot === null ? bDot! : bDot === null ? mul(matmul(aDot, x), -1) : sub(bDot, matmul(aDot, x))
    return [[x], [solve(a, rhs)]] // dX = A⁻¹(dB − dA X)
  },
  linear: true,
  transpose: ([ct], [a, b]) => (isUndef(b) && ct !== null && !isUndef(a) ? [null, solve(swapLast(a as NdArray), ct)] : [null, null]), // B̄ = A⁻ᵀ X̄
  batch: (args, dims) => [[solve(...(batchToFront(args, dims) as [NdArray, NdArray]))], [0]]
})

export const solve = (a: NdArray, b: NdArray): NdArray => bind1(Solve, [a, b], {})

/** det A. d det A = det A · tr(A⁻¹ dA). */
export const Det: Primitive<Record<string, never>> = definePrimitive({
  name: "det",
  abstractEval: ([a]) => {
    squareBatch("det", a)
    return [new ShapedArray(a.shape.slice(0, -2), a.dtype)]
  },
  impl: ([a], _, [out]) => {
    const [batch, n] = squareBatch("det", a.aval)
    return [ArrayValue.fromBuffer(lin.det(contiguous(a), batch, n, out.dtype), out.dtype, out.shape)]
  },
  jvp: ([a], [aDot]) => {
    const d = det(a)
    const n = a.shape[a.ndim - 1]
    const m = solve(a, aDot!) // A⁻¹ dA; its trace is Σᵢ mᵢᵢ
    const flat = reshape(m, [...m.shape.slice(0, -2), n * n])
    const diag = reduceSum(mul(flat, identityFlat(n, a.dtype)), [flat.ndim - 1])
    return [[d], [mul(d, diag)]]
  },
  batch: ([a], [d]) => [[det(batchToFront([a], [d])[0])], [0]]
})

const identityFlat = (n: number, dtype: "float32" | "float64" | "int32" | "bool"): NdArray => {
  const b = cpu.allocate(dtype, n * n)
  for (let i = 0; i < n; i++) b[i * n + i] = 1
  return ArrayValue.fromBuffer(b, dtype, [n * n])
}

export const det = (a: NdArray): NdArray => bind1(Det, [a], {})
