/**
 * Max pooling kernels: the pooled maximum over kh×kw windows (with strides,
 * dilation and padding read as `padValue`), and the two linear maps of its
 * derivative — `poolSelect` (a tangent at the inputs → the tangent of each
 * window's maximum, shared equally between tied maxima) and its adjoint
 * `poolScatter` (a cotangent per window → the inputs that hold the maximum).
 * One pass over the windows each; no patch array is built.
 */
import { convOutputSize, type ConvParams } from "./conv"
import { allocate, sizeOf } from "./types"
import type { Buffer, DType, View } from "./types"

// ---------------------------------------------------------------------------
// WebAssembly SIMD kernels (installed by the backend selection)

/**
 * What the WebAssembly backend provides for pooling (see
 * wasm/poolKernels.ts): the same three kernels, bit for bit, each returning
 * undefined to decline (a geometry, dtype or layout it does not handle, or
 * no WebAssembly) so that the JavaScript kernel runs.
 */
export interface PoolImplementation {
  readonly maxPool: (x: View, p: ConvParams) => Buffer | undefined
  readonly poolSelect: (x: View, t: View, p: ConvParams, outDtype: DType) => Buffer | undefined
  readonly poolScatter: (x: View, ct: View, p: ConvParams, outDtype: DType) => Buffer | undefined
}

let poolImpl: PoolImplementation | null = null

/** Installs (or with null removes) the WebAssembly kernels; the JavaScript loops stay the reference and the fallback. */
export const setPoolImplementation = (impl: PoolImplementation | null): void => {
  poolImpl = impl
}

/** Below this many windows the JavaScript loop is as fast as staging into WebAssembly. */
const WASM_MIN_WINDOWS = 64

type Visit = (n: number, c: number, o: number, max: number, count: number, at: Int32Array, len: number) => void

/**
 * Calls `visit` for every window with its maximum (NaN if any element is
 * NaN), how many of its elements equal it (padding included) and the buffer
 * offsets of the in-image elements that do.
 */
const eachWindow = (x: View, p: ConvParams, padValue: number, visit: Visit): [number, number] => {
  const [N, C, H, W] = x.shape
  const [sN, sC, sH, sW] = x.strides
  const OH = convOutputSize(H, p.kh, p.strideH, p.dilationH, p.padTop, p.padBottom)
  const OW = convOutputSize(W, p.kw, p.strideW, p.dilationW, p.padLeft, p.padRight)
  const X = x.buffer
  const at = new Int32Array(p.kh * p.kw)
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = x.offset + n * sN + c * sC
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let max = NaN
          let first = true
          let padded = false
          for (let ki = 0; ki < p.kh; ki++) {
            const ih = oh * p.strideH - p.padTop + ki * p.dilationH
            for (let kj = 0; kj < p.kw; kj++) {
              const iw = ow * p.strideW - p.padLeft + kj * p.dilationW
              const inside = ih >= 0 && ih < H && iw >= 0 && iw < W
              const v = inside ? X[base + ih * sH + iw * sW] : padValue
              if (!inside) padded = true
              if (first || v > max || v !== v) {
                if (max === max || first) max = v
                first = false
              }
            }
          }
          let count = 0
          let len = 0
          if (max !== max) {
            // a NaN maximum: its derivative is NaN at every element of the window (as reduce_max's)
            for (let ki = 0; ki < p.kh; ki++) {
              const ih = oh * p.strideH - p.padTop + ki * p.dilationH
              if (ih < 0 || ih >= H) continue
              for (let kj = 0; kj < p.kw; kj++) {
                const iw = ow * p.strideW - p.padLeft + kj * p.dilationW
                if (iw >= 0 && iw < W) at[len++] = (n * C + c) * H * W + ih * W + iw
              }
            }
          } else {
            if (padded) {
              // padding positions equal to the maximum count as ties (their tangent is 0)
              for (let ki = 0; ki < p.kh; ki++) {
                const ih = oh * p.strideH - p.padTop + ki * p.dilationH
                for (let kj = 0; kj < p.kw; kj++) {
                  const iw = ow * p.strideW - p.padLeft + kj * p.dilationW
                  if (!(ih >= 0 && ih < H && iw >= 0 && iw < W) && padValue === max) count++
                }
              }
            }
            for (let ki = 0; ki < p.kh; ki++) {
              const ih = oh * p.strideH - p.padTop + ki * p.dilationH
              if (ih < 0 || ih >= H) continue
              for (let kj = 0; kj < p.kw; kj++) {
                const iw = ow * p.strideW - p.padLeft + kj * p.dilationW
                if (iw < 0 || iw >= W) continue
                const k = base + ih * sH + iw * sW
                if (X[k] === max) {
                  at[len++] = (n * C + c) * H * W + ih * W + iw // the element's row-major index
                  count++
                }
              }
            }
          }
          visit(n, c, (n * C + c) * OH * OW + oh * OW + ow, max, count, at, len)
        }
      }
    }
  }
  return [OH, OW]
}

/** The maximum of every window: [N, C, H, W] → [N, C, OH, OW]. */
const maxPoolGeneral = (x: View, p: ConvParams, padValue: number, outSize: number): Buffer => {
  const out = allocate(x.dtype, outSize)
  eachWindow(x, p, padValue, (_n, _c, o, max) => {
    out[o] = max
  })
  return out
}

/** Row-major index → buffer offset of a strided [N, C, H, W] view. */
const offsetOf = (t: View, index: number): number => {
  const [, C, H, W] = t.shape
  const iw = index % W
  const ih = Math.floor(index / W) % H
  const c = Math.floor(index / (W * H)) % C
  const n = Math.floor(index / (W * H * C))
  return t.offset + n * t.strides[0] + c * t.strides[1] + ih * t.strides[2] + iw * t.strides[3]
}

/** The tangent of each window's maximum: the mean of `t` over the tied maxima. */
const poolSelectGeneral = (x: View, t: View, p: ConvParams, padValue: number, outSize: number, outDtype: DType): Buffer => {
  const out = allocate(outDtype, outSize)
  const T = t.buffer
  eachWindow(x, p, padValue, (_n, _c, o, max, count, at, len) => {
    if (max !== max) out[o] = NaN
    if (count === 0) return
    let s = 0
    for (let i = 0; i < len; i++) s += T[offsetOf(t, at[i])]
    out[o] = s / count
  })
  return out
}

/** The adjoint of `poolSelect`: each window's cotangent, shared equally by its tied maxima, added into [N, C, H, W]. */
const poolScatterGeneral = (x: View, ct: View, p: ConvParams, padValue: number, outDtype: DType): Buffer => {
  const [N, C, H, W] = x.shape
  const out = allocate(outDtype, N * C * H * W)
  const CT = ct.buffer
  const [, , OH, OW] = ct.shape
  eachWindow(x, p, padValue, (n, c, o, max, count, at, len) => {
    if (max !== max) for (let i = 0; i < len; i++) out[at[i]] = NaN
    if (count === 0) return
    const r = o - (n * C + c) * OH * OW
    const v = CT[ct.offset + n * ct.strides[0] + c * ct.strides[1] + Math.floor(r / OW) * ct.strides[2] + (r % OW) * ct.strides[3]] / count
    for (let i = 0; i < len; i++) out[at[i]] += v
  })
  return out
}

// ---------------------------------------------------------------------------
// The common case — no padding, no dilation — as plain loop nests (no callbacks).

const simple = (p: ConvParams): boolean => p.padTop === 0 && p.padBottom === 0 && p.padLeft === 0 && p.padRight === 0 && p.dilationH === 1 && p.dilationW === 1

interface Geometry {
  readonly N: number
  readonly C: number
  readonly H: number
  readonly W: number
  readonly OH: number
  readonly OW: number
}

const geometry = (x: View, p: ConvParams): Geometry => {
  const [N, C, H, W] = x.shape
  return { N, C, H, W, OH: convOutputSize(H, p.kh, p.strideH, 1, 0, 0), OW: convOutputSize(W, p.kw, p.strideW, 1, 0, 0) }
}

/** 2×2 windows at stride 2 (the usual pooling layer): unrolled, with fewer unpredictable branches. */
const twoByTwo = (p: ConvParams): boolean => simple(p) && p.kh === 2 && p.kw === 2 && p.strideH === 2 && p.strideW === 2

/**
 * The maximum of a, b, c, d with the semantics of the general loop: the first
 * of tied maxima, NaN if any is NaN.
 */
const max4 = (a: number, b: number, c: number, d: number): number => {
  if (a !== a || b !== b || c !== c || d !== d) return NaN
  const m1 = a >= b ? a : b
  const m2 = c >= d ? c : d
  return m1 >= m2 ? m1 : m2
}

const maxPool2x2 = (x: View, p: ConvParams, outSize: number): Buffer => {
  const { N, C, OH, OW } = geometry(x, p)
  const [sN, sC, sH, sW] = x.strides
  const X = x.buffer
  const out = allocate(x.dtype, outSize)
  let o = 0
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const base = x.offset + n * sN + c * sC
      for (let oh = 0; oh < OH; oh++) {
        let i = base + 2 * oh * sH
        for (let ow = 0; ow < OW; ow++, i += 2 * sW) out[o++] = max4(X[i], X[i + sW], X[i + sH], X[i + sH + sW])
      }
    }
  return out
}

/** The maximum of the kh×kw window whose first element is X[corner] (NaN if any is NaN, the first of ties). */
const windowMax = (X: Buffer, corner: number, kh: number, kw: number, sH: number, sW: number): number => {
  let m = X[corner]
  for (let ki = 0; ki < kh; ki++) {
    const r = corner + ki * sH
    for (let kj = 0; kj < kw; kj++) {
      const v = X[r + kj * sW]
      if (v > m || v !== v) m = m === m ? v : m
    }
  }
  return m
}

/** The maximum of every window: [N, C, H, W] → [N, C, OH, OW]. */
export const maxPool = (x: View, p: ConvParams, padValue: number, outSize: number): Buffer => {
  const fast = outSize >= WASM_MIN_WINDOWS ? poolImpl?.maxPool(x, p) : undefined
  if (fast !== undefined) return fast
  if (twoByTwo(p)) return maxPool2x2(x, p, outSize)
  if (!simple(p)) return maxPoolGeneral(x, p, padValue, outSize)
  const { N, C, OH, OW } = geometry(x, p)
  const [sN, sC, sH, sW] = x.strides
  const { kh, kw, strideH, strideW } = p
  const X = x.buffer
  const out = allocate(x.dtype, outSize)
  let o = 0
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const base = x.offset + n * sN + c * sC
      for (let oh = 0; oh < OH; oh++) {
        const row = base + oh * strideH * sH
        for (let ow = 0; ow < OW; ow++) out[o++] = windowMax(X, row + ow * strideW * sW, kh, kw, sH, sW)
      }
    }
  }
  return out
}

/** The tangent of each window's maximum: the mean of `t` over the tied maxima. */
export const poolSelect = (x: View, t: View, p: ConvParams, padValue: number, outSize: number, outDtype: DType): Buffer => {
  const fast = outSize >= WASM_MIN_WINDOWS ? poolImpl?.poolSelect(x, t, p, outDtype) : undefined
  if (fast !== undefined) return fast
  if (!simple(p)) return poolSelectGeneral(x, t, p, padValue, outSize, outDtype)
  const { N, C, OH, OW } = geometry(x, p)
  const [sN, sC, sH, sW] = x.strides
  const [tN, tC, tH, tW] = t.strides
  const { kh, kw, strideH, strideW } = p
  const X = x.buffer
  const T = t.buffer
  const out = allocate(outDtype, outSize)
  let o = 0
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const xb = x.offset + n * sN + c * sC
      const tb = t.offset + n * tN + c * tC
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const xc = xb + oh * strideH * sH + ow * strideW * sW
          const tc = tb + oh * strideH * tH + ow * strideW * tW
          const m = windowMax(X, xc, kh, kw, sH, sW)
          if (m !== m) {
            out[o++] = NaN
            continue
          }
          let sum = 0
          let count = 0
          for (let ki = 0; ki < kh; ki++)
            for (let kj = 0; kj < kw; kj++) {
              if (X[xc + ki * sH + kj * sW] === m) {
                sum += T[tc + ki * tH + kj * tW]
                count++
              }
            }
          out[o++] = count === 0 ? 0 : sum / count
        }
      }
    }
  }
  return out
}

const poolScatter2x2 = (x: View, ct: View, outDtype: DType): Buffer => {
  const [N, C, H, W] = x.shape
  const OH = Math.floor(H / 2)
  const OW = Math.floor(W / 2)
  const [sN, sC, sH, sW] = x.strides
  const [cN, cC, cH, cW] = ct.strides
  const X = x.buffer
  const CT = ct.buffer
  const out = allocate(outDtype, N * C * H * W)
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const xb = x.offset + n * sN + c * sC
      const cb = ct.offset + n * cN + c * cC
      const ob = (n * C + c) * H * W
      for (let oh = 0; oh < OH; oh++) {
        let i = xb + 2 * oh * sH
        let k = ob + 2 * oh * W
        for (let ow = 0; ow < OW; ow++, i += 2 * sW, k += 2) {
          const a = X[i]
          const b = X[i + sW]
          const d = X[i + sH]
          const e = X[i + sH + sW]
          const m = max4(a, b, d, e)
          if (m !== m) {
            out[k] = out[k + 1] = out[k + W] = out[k + W + 1] = NaN
            continue
          }
          const g = CT[cb + oh * cH + ow * cW]
          const count = +(a === m) + +(b === m) + +(d === m) + +(e === m)
          if (count === 1) {
            // windows do not overlap: each input belongs to one window, so a store is the add
            if (a === m) out[k] = g
            else if (b === m) out[k + 1] = g
            else if (d === m) out[k + W] = g
            else out[k + W + 1] = g
          } else {
            const share = g / count
            if (a === m) out[k] = share
            if (b === m) out[k + 1] = share
            if (d === m) out[k + W] = share
            if (e === m) out[k + W + 1] = share
          }
        }
      }
    }
  return out
}

/** The adjoint of `poolSelect`: each window's cotangent, shared equally by its tied maxima, added into [N, C, H, W]. */
export const poolScatter = (x: View, ct: View, p: ConvParams, padValue: number, outDtype: DType): Buffer => {
  const fast = sizeOf(ct.shape) >= WASM_MIN_WINDOWS ? poolImpl?.poolScatter(x, ct, p, outDtype) : undefined
  if (fast !== undefined) return fast
  if (twoByTwo(p)) return poolScatter2x2(x, ct, outDtype)
  if (!simple(p)) return poolScatterGeneral(x, ct, p, padValue, outDtype)
  const { N, C, H, W, OH, OW } = geometry(x, p)
  const [sN, sC, sH, sW] = x.strides
  const [cN, cC, cH, cW] = ct.strides
  const { kh, kw, strideH, strideW } = p
  const X = x.buffer
  const CT = ct.buffer
  const out = allocate(outDtype, N * C * H * W)
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const xb = x.offset + n * sN + c * sC
      const cb = ct.offset + n * cN + c * cC
      const ob = (n * C + c) * H * W
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const xc = xb + oh * strideH * sH + ow * strideW * sW
          const oc = ob + oh * strideH * W + ow * strideW
          // one pass: the maximum, how many elements tie with it, and where the first one is
          let m = X[xc]
          let count = 0
          let first = oc
          for (let ki = 0; ki < kh; ki++)
            for (let kj = 0; kj < kw; kj++) {
              const v = X[xc + ki * sH + kj * sW]
              if (v === m) count++
              else if (v > m || v !== v) {
                if (m === m) {
                  m = v
                  count = v === v ? 1 : 0
                  first = oc + ki * W + kj
                }
              }
            }
          if (m !== m) {
            for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) out[oc + ki * W + kj] = NaN
            continue
          }
          if (count === 0) continue
          const g = CT[cb + oh * cH + ow * cW]
          if (count === 1) {
            out[first] += g
            continue
          }
          const share = g / count
          for (let ki = 0; ki < kh; ki++)
            for (let kj = 0; kj < kw; kj++) if (X[xc + ki * sH + kj * sW] === m) out[oc + ki * W + kj] += share
        }
      }
    }
  }
  return out
}
