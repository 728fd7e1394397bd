/**
 * `im2col` and its adjoint `col2im`: the patch extraction that turns a 2-d
 * convolution into one matrix product per image, and pooling into a
 * reduction. Reason: speed (convolution must not loop per output pixel) and
 * it cannot be composed. The pair are each other's transpose.
 *
 * x: [N, C, H, W] → patches: [N, C, kh, kw, OH, OW].
 */
import * as cpu from "../backend/cpu/index.js"
import { ShapeError, ValueError } from "../Errors.js"
import { ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { ArrayValue, definePrimitive, type Primitive } from "../interpreter/primitive.js"
import { moveAxis } from "./batching.js"
import { bind1 } from "../interpreter/trace.js"
import { reshape } from "./shape.js"

export interface PatchParams extends cpu.ConvParams {
  /** The value read at padded positions (−∞ for max pooling; 0 keeps the op linear). */
  readonly padValue: number
  /**
   * Store the patches channels-major (`[C, kh, kw, N, OH, OW]` in memory, a
   * strided view of the same logical shape), so that a convolution over the
   * whole batch is one matrix product. Values are the same either way.
   */
  readonly channelsMajor?: boolean
}

export const patchesShape = (op: string, shape: ReadonlyArray<number>, p: cpu.ConvParams): Array<number> => {
  const [n, c, h, w] = shape
  const oh = cpu.convOutputSize(h, p.kh, p.strideH, p.dilationH, p.padTop, p.padBottom)
  const ow = cpu.convOutputSize(w, p.kw, p.strideW, p.dilationW, p.padLeft, p.padRight)
  if (!(oh > 0 && ow > 0)) {
    throw new ShapeError({ op, shapes: [shape], hint: `a ${p.kh}×${p.kw} window (dilation ${p.dilationH}×${p.dilationW}) does not fit the padded ${h}×${w} input` })
  }
  return [n, c, p.kh, p.kw, oh, ow]
}

const checkParams = (op: string, p: cpu.ConvParams) => {
  const positive = [p.kh, p.kw, p.strideH, p.strideW, p.dilationH, p.dilationW]
  const nonNegative = [p.padTop, p.padBottom, p.padLeft, p.padRight]
  if (positive.some((v) => !Number.isInteger(v) || v < 1) || nonNegative.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new ValueError({ op, hint: `kernel sizes, strides and dilations must be positive integers and paddings non-negative integers, got ${JSON.stringify(p)}` })
  }
}

/** Fold a batch dim into N, run `f`, unfold it. */
const batchIntoN = (x: NdArray, d: number, f: (x: NdArray) => NdArray): NdArray => {
  const front = moveAxis(x, d, 0)
  const [b, n] = front.shape
  const y = f(reshape(front, [b * n, ...front.shape.slice(2)]))
  return reshape(y, [b, n, ...y.shape.slice(1)])
}

export const Im2col: Primitive<PatchParams> = definePrimitive({
  name: "im2col",
  abstractEval: ([x], p) => {
    if (x.ndim !== 4) throw new ShapeError({ op: "im2col", shapes: [x.shape], hint: "expects an [N, C, H, W] array" })
    checkParams("im2col", p)
    return [new ShapedArray(patchesShape("im2col", x.shape, p), x.dtype)]
  },
  impl: ([x], p, [out]) => {
    const buffer = cpu.im2col(x, p, p.padValue, p.channelsMajor ?? false)
    if (!p.channelsMajor) return [ArrayValue.fromBuffer(buffer, out.dtype, out.shape)]
    const [n, c, kh, kw, oh, ow] = out.shape
    return [new ArrayValue(buffer, out.dtype, out.shape, cpu.channelsMajorStrides(n, c, kh, kw, oh, ow), 0)]
  },
  jvp: ([x], [xDot], p) => [[im2col(x, p)], [im2col(xDot!, { ...p, padValue: 0 })]], // linear (affine in the padding)
  linear: true,
  transpose: ([ct], [x], p) => {
    const [, , h, w] = x.aval.shape
    return [col2im(ct!, h, w, p)] // adjoint: scatter-add the patches back
  },
  batch: ([x], [d], p) => [[batchIntoN(x, d!, (y) => im2col(y, p))], [0]],
  showParams: (p) => `k=${p.kh}x${p.kw} s=${p.strideH}x${p.strideW} d=${p.dilationH}x${p.dilationW} pad=${p.padTop},${p.padBottom},${p.padLeft},${p.padRight}`
})

export const im2col = (x: NdArray, p: PatchParams): NdArray => bind1(Im2col, [x], p)

interface Col2imParams extends PatchParams {
  readonly h: number
  readonly w: number
}

export const Col2im: Primitive<Col2imParams> = definePrimitive({
  name: "col2im",
  abstractEval: ([cols], p) => {
    checkParams("col2im", p)
    const expected = patchesShape("col2im", [cols.shape[0], cols.shape[1], p.h, p.w], p)
    if (cols.ndim !== 6 || expected.some((d, i) => d !== cols.shape[i])) {
      throw new ShapeError({ op: "col2im", shapes: [cols.shape, expected], hint: "patches do not match the image size and window" })
    }
    return [new ShapedArray([cols.shape[0], cols.shape[1], p.h, p.w], cols.dtype)]
  },
  impl: ([cols], p, [out]) => {
    const [n, c, h, w] = out.shape
    return [ArrayValue.fromBuffer(cpu.col2im(cols, n, c, h, w, p, out.dtype), out.dtype, out.shape)]
  },
  jvp: ([cols], [t], p) => [[bind1(Col2im, [cols], p)], [bind1(Col2im, [t!], p)]], // linear
  linear: true,
  transpose: ([ct], _, p) => [im2col(ct!, { ...p, padValue: 0 })], // adjoint: extract the patches
  batch: ([cols], [d], p) => [[batchIntoN(cols, d!, (y) => bind1(Col2im, [y], p))], [0]],
  showParams: (p) => `k=${p.kh}x${p.kw} s=${p.strideH}x${p.strideW} image=${p.h}x${p.w}`
})

export const col2im = (cols: NdArray, h: number, w: number, p: PatchParams): NdArray => bind1(Col2im, [cols], { ...p, padValue: 0, h, w })
