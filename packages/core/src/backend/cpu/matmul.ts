/**
 * Batched matrix multiplication.
 *
 * Large products use a cache-blocked algorithm in the style of GotoBLAS:
 * blocks of B (KC × NC) and A (MC × KC) are packed into float64 panels laid
 * out in the order a 4×4 register-tiled micro-kernel reads them, so the
 * micro-kernel is a straight-line loop over two Float64Arrays whatever the
 * operands' dtype and strides (row-major, transposed or arbitrary); packing
 * wins even for tiny (4×4) blocks. Skinny products (matrix-vector, fewer
 * than 4 rows or columns) use strided loops in the most cache-friendly order.
 */
import { contiguous } from "./elementwise"
import { allocateUninit, contiguousStrides, sizeOf } from "./types"
import type { Buffer, DType, View } from "./types"

export type FloatBuffer = Float32Array | Float64Array

/**
 * A replacement for the 2-d float product `c[cOffset + i*n + j] = Σ_p a[i, p] * b[p, j]`
 * where `a[i, p] = a[aOffset + i*aRowStride + p*aColStride]` (likewise b).
 * The strides are the operands' own, any integers: 0 along a broadcast
 * axis, negative along a flipped one, neither 1 for a strided slice (an
 * operand is never copied to a contiguous layout first: a broadcast
 * cotangent of ones would be materialised in full). `c`'s contents are
 * unspecified on entry; the implementation overwrites all of it. Returns
 * false to decline (the JS kernel then runs).
 */
export type MatmulImpl = (
  a: FloatBuffer,
  aOffset: number,
  aRowStride: number,
  aColStride: number,
  b: FloatBuffer,
  bOffset: number,
  bRowStride: number,
  bColStride: number,
  c: FloatBuffer,
  cOffset: number,
  m: number,
  k: number,
  n: number
) => boolean

let matmulImpl: MatmulImpl | null = null

/** Installs (or with `null` removes) an accelerated implementation of the 2-d float case. */
export const setMatmulImplementation = (fn: MatmulImpl | null): void => {
  matmulImpl = fn
}

// Micro-tile and block sizes.
const MR = 4
const NR = 4
const KC = 256
const MC = 64
const NC = 512

let packedA = new Float64Array(0)
let packedB = new Float64Array(0)

/** Packs rows [0, mc) × cols [0, kc) of A into strips of MR rows: `dst[i0*kc + p*MR + r] = A[i0 + r, p]`, zero padded. */
const packA = (a: Buffer, off: number, rs: number, cs: number, mc: number, kc: number, dst: Float64Array): void => {
  let q = 0
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = Math.min(MR, mc - i0)
    let base = off + i0 * rs
    if (rows === MR) {
      for (let p = 0; p < kc; p++, base += cs, q += MR) {
        dst[q] = a[base]
        dst[q + 1] = a[base + rs]
        dst[q + 2] = a[base + 2 * rs]
        dst[q + 3] = a[base + 3 * rs]
      }
    } else {
      for (let p = 0; p < kc; p++, base += cs) {
        for (let r = 0; r < MR; r++) dst[q++] = r < rows ? a[base + r * rs] : 0
      }
    }
  }
}

/** Packs rows [0, kc) × cols [0, nc) of B into strips of NR columns: `dst[j0*kc + p*NR + c] = B[p, j0 + c]`, zero padded. */
const packB = (b: Buffer, off: number, rs: number, cs: number, kc: number, nc: number, dst: Float64Array): void => {
  let q = 0
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = Math.min(NR, nc - j0)
    let base = off + j0 * cs
    if (cols === NR) {
      for (let p = 0; p < kc; p++, base += rs, q += NR) {
        dst[q] = b[base]
        dst[q + 1] = b[base + cs]
        dst[q + 2] = b[base + 2 * cs]
        dst[q + 3] = b[base + 3 * cs]
      }
    } else {
      for (let p = 0; p < kc; p++, base += rs) {
        for (let c = 0; c < NR; c++) dst[q++] = c < cols ? b[base + c * cs] : 0
      }
    }
  }
}

const edgeTile = new Float64Array(MR * NR)

/** `C[0:rows, 0:cols] += Apanel · Bpanel` for one MR×NR tile (C row stride `ldc`). */
const microKernel = (
  kc: number,
  pa: Float64Array,
  ia: number,
  pb: Float64Array,
  ib: number,
  c: FloatBuffer,
  ic: number,
  ldc: number,
  rows: number,
  cols: number
): void => {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0
  for (const end = ia + kc * MR; ia < end; ia += MR, ib += NR) {
    const b0 = pb[ib], b1 = pb[ib + 1], b2 = pb[ib + 2], b3 = pb[ib + 3]
    let a = pa[ia]
    c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3
    a = pa[ia + 1]
    c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3
    a = pa[ia + 2]
    c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3
    a = pa[ia + 3]
    c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3
  }
  if (rows === MR && cols === NR) {
    c[ic] += c00; c[ic + 1] += c01; c[ic + 2] += c02; c[ic + 3] += c03
    ic += ldc
    c[ic] += c10; c[ic + 1] += c11; c[ic + 2] += c12; c[ic + 3] += c13
    ic += ldc
    c[ic] += c20; c[ic + 1] += c21; c[ic + 2] += c22; c[ic + 3] += c23
    ic += ldc
    c[ic] += c30; c[ic + 1] += c31; c[ic + 2] += c32; c[ic + 3] += c33
    return
  }
  const t = edgeTile
  t[0] = c00; t[1] = c01; t[2] = c02; t[3] = c03
  t[4] = c10; t[5] = c11; t[6] = c12; t[7] = c13
  t[8] = c20; t[9] = c21; t[10] = c22; t[11] = c23
  t[12] = c30; t[13] = c31; t[14] = c32; t[15] = c33
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) c[ic + r * ldc + j] += t[r * NR + j]
  }
}

/**
 * Strided loops for skinny products (fewer than 4 rows or columns), in the
 * loop order with the smallest inner strides; the k loop is unrolled by 4.
 */
const skinnyMatmul = (
  a: Buffer, aOff: number, ars: number, acs: number,
  b: Buffer, bOff: number, brs: number, bcs: number,
  c: FloatBuffer, cOff: number, m: number, k: number, n: number
): void => {
  const cost = (len: number, strides: number): number => (len < 4 ? 1e15 + strides - len : strides)
  const ipj = cost(n, Math.abs(bcs) + 1) // axpy of rows of B into rows of C
  const ijp = cost(k, Math.abs(acs) + Math.abs(brs)) // dot products
  const jpi = cost(m, Math.abs(ars) + n) // axpy of columns of A into columns of C
  const k4 = k - (k % 4)
  if (ijp <= ipj && ijp <= jpi) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let pa = aOff + i * ars
        let pb = bOff + j * bcs
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0
        for (let p = 0; p < k4; p += 4, pa += 4 * acs, pb += 4 * brs) {
          s0 += a[pa] * b[pb]
          s1 += a[pa + acs] * b[pb + brs]
          s2 += a[pa + 2 * acs] * b[pb + 2 * brs]
          s3 += a[pa + 3 * acs] * b[pb + 3 * brs]
        }
        for (let p = k4; p < k; p++, pa += acs, pb += brs) s0 += a[pa] * b[pb]
        c[cOff + i * n + j] += s0 + s1 + (s2 + s3)
      }
    }
  } else if (ipj <= jpi) {
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * n
      const ai = aOff + i * ars
      for (let p = 0; p < k; p += 4) {
        const pb = bOff + p * brs
        if (p < k4) {
          const a0 = a[ai + p * acs], a1 = a[ai + (p + 1) * acs], a2 = a[ai + (p + 2) * acs], a3 = a[ai + (p + 3) * acs]
          for (let j = 0, q = pb; j < n; j++, q += bcs) {
            c[ci + j] += a0 * b[q] + a1 * b[q + brs] + a2 * b[q + 2 * brs] + a3 * b[q + 3 * brs]
          }
        } else {
          for (let pp = p; pp < k; pp++) {
            const av = a[ai + pp * acs]
            for (let j = 0, q = bOff + pp * brs; j < n; j++, q += bcs) c[ci + j] += av * b[q]
          }
        }
      }
    }
  } else {
    for (let j = 0; j < n; j++) {
      const bj = bOff + j * bcs
      for (let p = 0; p < k; p += 4) {
        const pa = aOff + p * acs
        if (p < k4) {
          const b0 = b[bj + p * brs], b1 = b[bj + (p + 1) * brs], b2 = b[bj + (p + 2) * brs], b3 = b[bj + (p + 3) * brs]
          for (let i = 0, q = pa, pc = cOff + j; i < m; i++, q += ars, pc += n) {
            c[pc] += a[q] * b0 + a[q + acs] * b1 + a[q + 2 * acs] * b2 + a[q + 3 * acs] * b3
          }
        } else {
          for (let pp = p; pp < k; pp++) {
            const bv = b[bj + pp * brs]
            for (let i = 0, q = aOff + pp * acs, pc = cOff + j; i < m; i++, q += ars, pc += n) c[pc] += a[q] * bv
          }
        }
      }
    }
  }
}

/**
 * `C += A · B` for one 2-d product: `A[i, p] = a[aOff + i*ars + p*acs]`,
 * `B[p, j] = b[bOff + p*brs + j*bcs]`, and C is row-major `m × n` at `cOff`.
 * Any strides work (no copies are made).
 */
export const matmulInto = (
  a: Buffer, aOff: number, ars: number, acs: number,
  b: Buffer, bOff: number, brs: number, bcs: number,
  c: FloatBuffer, cOff: number, m: number, k: number, n: number
): void => {
  if (m < MR || n < NR) {
    skinnyMatmul(a, aOff, ars, acs, b, bOff, brs, bcs, c, cOff, m, k, n)
    return
  }
  if (packedA.length < MC * KC) packedA = new Float64Array(MC * KC)
  if (packedB.length < KC * NC) packedB = new Float64Array(KC * NC)
  const pa = packedA
  const pb = packedB
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc)
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc)
      packB(b, bOff + pc * brs + jc * bcs, brs, bcs, kc, nc, pb)
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic)
        packA(a, aOff + ic * ars + pc * acs, ars, acs, mc, kc, pa)
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = Math.min(NR, nc - jr)
          for (let ir = 0; ir < mc; ir += MR) {
            microKernel(kc, pa, ir * kc, pb, jr * kc, c, cOff + (ic + ir) * n + jc + jr, n, Math.min(MR, mc - ir), cols)
          }
        }
      }
    }
  }
}

/** The operand as the implementation takes it: its own view (any strides) when the buffer has the product's dtype, else converted to a contiguous copy. */
const forImplementation = (v: View, dtype: "float32" | "float64"): View => {
  const rightType = dtype === "float32" ? v.buffer instanceof Float32Array : v.buffer instanceof Float64Array
  if (rightType) return v
  return { buffer: contiguous(v, dtype), dtype, shape: v.shape, strides: contiguousStrides(v.shape), offset: 0 }
}

/**
 * `a @ b` for `a: [...B, m, k]`, `b: [...B, k, n]` with identical batch
 * shapes (batch strides may be 0). Returns a fresh `[...B, m, n]` buffer.
 */
export const matmul = (a: View, b: View, outDtype: DType): Buffer => {
  const r = a.shape.length
  const m = a.shape[r - 2]
  const k = a.shape[r - 1]
  const n = b.shape[r - 1]
  const batchShape = a.shape.slice(0, r - 2)
  const batch = sizeOf(batchShape)
  const work = outDtype === "float32" ? "float32" : "float64"
  // C's contents are unspecified (pooled, or fresh and not zero-filled): it is written in full below,
  // by the wasm product, which overwrites C, or zeroed first for the JavaScript loops, which accumulate
  const c = allocateUninit(work, batch * m * n) as FloatBuffer
  if (k === 0) c.fill(0)
  if (c.length > 0 && k > 0) {
    const impl = matmulImpl
    const av = impl === null ? a : forImplementation(a, work)
    const bv = impl === null ? b : forImplementation(b, work)
    const [ars, acs] = av.strides.slice(r - 2)
    const [brs, bcs] = bv.strides.slice(r - 2)
    const idx = new Array<number>(r - 2).fill(0)
    let pa = av.offset
    let pb = bv.offset
    for (let t = 0; t < batch; t++) {
      const cOff = t * m * n
      const done =
        impl !== null &&
        impl(av.buffer as FloatBuffer, pa, ars, acs, bv.buffer as FloatBuffer, pb, brs, bcs, c, cOff, m, k, n)
      if (!done) {
        c.fill(0, cOff, cOff + m * n)
        matmulInto(av.buffer, pa, ars, acs, bv.buffer, pb, brs, bcs, c, cOff, m, k, n)
      }
      // Advance the batch odometer.
      for (let d = r - 3; d >= 0; d--) {
        if (++idx[d] < batchShape[d]) {
          pa += av.strides[d]
          pb += bv.strides[d]
          break
        }
        idx[d] = 0
        pa -= av.strides[d] * (batchShape[d] - 1)
        pb -= bv.strides[d] * (batchShape[d] - 1)
      }
    }
  }
  if (work === outDtype) return c
  const outShape = [...batchShape, m, n]
  return contiguous({ buffer: c, dtype: work, shape: outShape, strides: contiguousStrides(outShape), offset: 0 }, outDtype)
}
