/**
 * im2col / col2im for convolutions and pooling. For each kernel offset
 * (ki, kj), the input positions it reads form a strided window of x, so both
 * kernels are `kh * kw` strided copies (adds for col2im) of 4-d blocks.
 */
import { allocate, contiguousStrides } from "./types"
import type { Buffer, DType, View } from "./types"

export interface ConvParams {
  kh: number
  kw: number
  strideH: number
  strideW: number
  dilationH: number
  dilationW: number
  padTop: number
  padBottom: number
  padLeft: number
  padRight: number
}

/** Number of output positions along one spatial dim (never negative). */
export const convOutputSize = (
  size: number,
  k: number,
  stride: number,
  dilation: number,
  padLo: number,
  padHi: number
): number => Math.max(0, Math.floor((size + padLo + padHi - dilation * (k - 1) - 1) / stride) + 1)

/**
 * The output positions `[lo, hi)` whose input position
 * `o * stride - padLo + kOffset * dilation` lies inside `[0, size)`.
 */
const validRange = (
  size: number,
  outSize: number,
  kOffset: number,
  stride: number,
  dilation: number,
  padLo: number
): [number, number] => {
  const shift = padLo - kOffset * dilation // input = o * stride - shift
  const lo = Math.max(0, Math.ceil(shift / stride))
  const hi = Math.min(outSize, Math.floor((size - 1 + shift) / stride) + 1)
  return [lo, Math.max(lo, hi)]
}

export interface Window {
  /** Output rows [oh0, oh0 + ohCount) and cols [ow0, ow0 + owCount) that read inside the image. */
  oh0: number
  ohCount: number
  ow0: number
  owCount: number
  /** Input position read by output (oh0, ow0). */
  ih0: number
  iw0: number
}

/** The in-bounds window of every kernel offset, indexed `ki * kw + kj`. */
export const windows = (H: number, W: number, OH: number, OW: number, p: ConvParams): Array<Window> => {
  const result: Array<Window> = []
  for (let ki = 0; ki < p.kh; ki++) {
    const [oh0, oh1] = validRange(H, OH, ki, p.strideH, p.dilationH, p.padTop)
    for (let kj = 0; kj < p.kw; kj++) {
      const [ow0, ow1] = validRange(W, OW, kj, p.strideW, p.dilationW, p.padLeft)
      result.push({
        oh0,
        ohCount: oh1 - oh0,
        ow0,
        owCount: ow1 - ow0,
        ih0: oh0 * p.strideH - p.padTop + ki * p.dilationH,
        iw0: ow0 * p.strideW - p.padLeft + kj * p.dilationW
      })
    }
  }
  return result
}

/**
 * Strides of the logical `[N, C, kh, kw, OH, OW]` patches stored in the
 * physical order `[C, kh, kw, N, OH, OW]`, so that the patches of a whole
 * batch form one `[C·kh·kw, N·OH·OW]` matrix (one large product per conv).
 */
export const channelsMajorStrides = (N: number, C: number, kh: number, kw: number, OH: number, OW: number): Array<number> => {
  const [sC, sKh, sKw, sN, sOh, sOw] = contiguousStrides([C, kh, kw, N, OH, OW])
  return [sN, sC, sKh, sKw, sOh, sOw]
}

/**
 * What the WebAssembly backend provides for `im2col` / `col2im` (see
 * wasm/convKernels.ts): the same results, bit for bit, or undefined where it
 * does not apply (dtype, layout, size), and the JavaScript loops run.
 */
export interface ConvImplementation {
  readonly im2col: (x: View, p: ConvParams, padValue: number, channelsMajor: boolean) => Buffer | undefined
  readonly col2im: (cols: View, N: number, C: number, H: number, W: number, p: ConvParams, outDtype: DType) => Buffer | undefined
}

let convImpl: ConvImplementation | null = null

/** Installs (or with null removes) the WebAssembly kernels; the JavaScript loops stay the reference and the fallback. */
export const setConvImplementation = (impl: ConvImplementation | null): void => {
  convImpl = impl
}

/**
 * Unfolds `x: [N, C, H, W]` into `[N, C, kh, kw, OH, OW]` where entry
 * `(n, c, ki, kj, oh, ow)` is `x[n, c, oh*strideH - padTop + ki*dilationH,
 * ow*strideW - padLeft + kj*dilationW]`, or `padValue` outside the image.
 * The buffer is row-major `[N, C, kh, kw, OH, OW]`, or with `channelsMajor`
 * laid out as `channelsMajorStrides` describes.
 */
export const im2col = (x: View, p: ConvParams, padValue = 0, channelsMajor = false): Buffer => {
  const fast = convImpl?.im2col(x, p, padValue, channelsMajor)
  if (fast !== undefined) return fast
  const [N, C, H, W] = x.shape
  const [sN, sC, sH, sW] = x.strides
  const OH = convOutputSize(H, p.kh, p.strideH, p.dilationH, p.padTop, p.padBottom)
  const OW = convOutputSize(W, p.kw, p.strideW, p.dilationW, p.padLeft, p.padRight)
  const out = allocate(x.dtype, N * C * p.kh * p.kw * OH * OW)
  if (out.length === 0) return out
  if (padValue !== 0) out.fill(x.dtype === "bool" ? (padValue !== 0 ? 1 : 0) : padValue)
  const os = channelsMajor ? channelsMajorStrides(N, C, p.kh, p.kw, OH, OW) : contiguousStrides([N, C, p.kh, p.kw, OH, OW])
  // plain loop nests, channel by channel and kernel offset by kernel offset, so that the
  // channels-major destination is written in order: rows of owCount elements
  const X = x.buffer
  const dsh = p.strideH * sH
  const dsw = p.strideW * sW
  const ws = windows(H, W, OH, OW, p)
  for (let c = 0; c < C; c++) {
    for (let kk = 0; kk < ws.length; kk++) {
      const w = ws[kk]
      const { ohCount, owCount } = w
      if (ohCount === 0 || owCount === 0) continue
      for (let n = 0; n < N; n++) {
        let src = x.offset + n * sN + c * sC + w.ih0 * sH + w.iw0 * sW
        let dst = kk * os[3] + n * os[0] + c * os[1] + w.oh0 * OW + w.ow0
        for (let r = 0; r < ohCount; r++, src += dsh, dst += OW) {
          if (dsw === 1) for (let q = 0; q < owCount; q++) out[dst + q] = X[src + q]
          else for (let q = 0; q < owCount; q++) out[dst + q] = X[src + q * dsw]
        }
      }
    }
  }
  return out
}

/**
 * The adjoint of `im2col` (with padValue 0): sums every entry of
 * `cols: [N, C, kh, kw, OH, OW]` into the input position it was read from,
 * giving `[N, C, H, W]`; entries from padding positions are dropped.
 */
export const col2im = (
  cols: View,
  N: number,
  C: number,
  H: number,
  W: number,
  p: ConvParams,
  outDtype: DType
): Buffer => {
  const fast = convImpl?.col2im(cols, N, C, H, W, p, outDtype)
  if (fast !== undefined) return fast
  const OH = convOutputSize(H, p.kh, p.strideH, p.dilationH, p.padTop, p.padBottom)
  const OW = convOutputSize(W, p.kw, p.strideW, p.dilationW, p.padLeft, p.padRight)
  const out = allocate(outDtype, N * C * H * W)
  if (out.length === 0) return out
  const cs = cols.strides
  const CB = cols.buffer
  const dih = p.strideH * W
  const diw = p.strideW
  const cw = cs[5]
  const ws = windows(H, W, OH, OW, p)
  // For a fixed kernel offset distinct outputs read distinct inputs, so one add pass per offset is race-free.
  for (let c = 0; c < C; c++) {
    for (let kk = 0; kk < ws.length; kk++) {
      const w = ws[kk]
      const { ohCount, owCount } = w
      if (ohCount === 0 || owCount === 0) continue
      const ki = Math.floor(kk / p.kw)
      const kj = kk % p.kw
      for (let n = 0; n < N; n++) {
        let src = cols.offset + n * cs[0] + c * cs[1] + ki * cs[2] + kj * cs[3] + w.oh0 * cs[4] + w.ow0 * cw
        let dst = (n * C + c) * H * W + w.ih0 * W + w.iw0
        for (let r = 0; r < ohCount; r++, src += cs[4], dst += dih) {
          if (cw === 1 && diw === 1) for (let q = 0; q < owCount; q++) out[dst + q] += CB[src + q]
          else for (let q = 0; q < owCount; q++) out[dst + q * diw] += CB[src + q * cw]
        }
      }
    }
  }
  return out
}
