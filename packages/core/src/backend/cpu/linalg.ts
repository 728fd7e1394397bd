/**
 * Dense linear-algebra kernels: LU factorisation with partial pivoting, used
 * to solve batched systems and compute determinants. Inputs are contiguous
 * row-major batches; arithmetic is in float64.
 */
import { type Buffer, type DType, allocate } from "./types"

/** Thrown by the kernels when a pivot is exactly zero; the primitive turns it into a typed error. */
export class SingularMatrix extends Error {}

/** Factor one n×n matrix in place (float64 copy): returns the permutation sign, or 0 if singular. */
const luInPlace = (a: Float64Array, n: number, perm: Int32Array): number => {
  let sign = 1
  for (let i = 0; i < n; i++) perm[i] = i
  for (let k = 0; k < n; k++) {
    let p = k
    let best = Math.abs(a[k * n + k])
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(a[i * n + k])
      if (v > best) {
        best = v
        p = i
      }
    }
    if (best === 0) return 0
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = a[k * n + j]
        a[k * n + j] = a[p * n + j]
        a[p * n + j] = t
      }
      const t = perm[k]
      perm[k] = perm[p]
      perm[p] = t
      sign = -sign
    }
    const pivot = a[k * n + k]
    for (let i = k + 1; i < n; i++) {
      const f = (a[i * n + k] /= pivot)
      if (f !== 0) for (let j = k + 1; j < n; j++) a[i * n + j] -= f * a[k * n + j]
    }
  }
  return sign
}

/** X = A⁻¹B for `batch` pairs: A [batch, n, n], B [batch, n, k] (contiguous). */
export const solve = (a: Buffer, b: Buffer, batch: number, n: number, k: number, outDtype: DType): Buffer => {
  const out = allocate(outDtype, batch * n * k)
  const lu = new Float64Array(n * n)
  const perm = new Int32Array(n)
  const x = new Float64Array(n * k)
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < n * n; i++) lu[i] = a[t * n * n + i]
    if (luInPlace(lu, n, perm) === 0) throw new SingularMatrix(`matrix ${t} of the batch is singular`)
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) x[i * k + j] = b[t * n * k + perm[i] * k + j]
    for (let i = 0; i < n; i++) for (let r = 0; r < i; r++) {
      const l = lu[i * n + r]
      if (l !== 0) for (let j = 0; j < k; j++) x[i * k + j] -= l * x[r * k + j]
    }
    for (let i = n - 1; i >= 0; i--) {
      for (let r = i + 1; r < n; r++) {
        const u = lu[i * n + r]
        if (u !== 0) for (let j = 0; j < k; j++) x[i * k + j] -= u * x[r * k + j]
      }
      const d = lu[i * n + i]
      for (let j = 0; j < k; j++) x[i * k + j] /= d
    }
    for (let i = 0; i < n * k; i++) out[t * n * k + i] = x[i]
  }
  return out
}

/** Determinants of `batch` n×n matrices (contiguous). */
export const det = (a: Buffer, batch: number, n: number, outDtype: DType): Buffer => {
  const out = allocate(outDtype, batch)
  const lu = new Float64Array(n * n)
  const perm = new Int32Array(n)
  for (let t = 0; t < batch; t++) {
    for (let i = 0; i < n * n; i++) lu[i] = a[t * n * n + i]
    const sign = luInPlace(lu, n, perm)
    let d = sign
    for (let i = 0; i < n && d !== 0; i++) d *= lu[i * n + i]
    out[t] = d
  }
  return out
}
