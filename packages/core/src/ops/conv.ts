/**
 * Convolution and pooling, composed from `im2col` (patch extraction), a
 * batched `matmul` and reductions. Layout NCHW; weights [O, C, kh, kw]. A
 * 3-d input [C, H, W] is one image (as a layer sees it under `vmap`).
 */
import { ShapeError, ValueError } from "../Errors.js"
import type { NdArray } from "../interpreter/ndarray.js"
import type { ConvParams } from "../backend/cpu/index.js"
import { convert, div, reduceMax, reduceSum } from "../primitives/index.js"
import { im2col } from "../primitives/conv.js"
import { maxPool } from "../primitives/pool.js"
import { matmul } from "../primitives/matmul.js"
import { reshape, transpose } from "../primitives/shape.js"
import { promote } from "./coerce.js"
import { isFloat, optionsObject } from "../interpreter/aval.js"

/** `"valid"` (none), `"same"` (output size ⌈in/stride⌉, extra padding at the end as in JAX/TensorFlow), one number, `[ph, pw]`, or `[[top, bottom], [left, right]]`. */
export type Padding = "valid" | "same" | number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]]

const pair = (op: string, v: number | readonly [number, number] | undefined, dflt: number, what: string): [number, number] => {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : [v[0], v[1]]
  if (p.some((x) => !Number.isInteger(x) || x < 1)) throw new ValueError({ op, hint: `${what} must be positive integers, got ${JSON.stringify(v)}` })
  return p
}

const resolvePadding = (
  op: string,
  padding: Padding | undefined,
  [h, w]: [number, number],
  [kh, kw]: [number, number],
  [sh, sw]: [number, number],
  [dh, dw]: [number, number]
): [number, number, number, number] => {
  if (padding === undefined || padding === "valid") return [0, 0, 0, 0]
  if (padding === "same") {
    const total = (n: number, k: number, s: number, d: number) => Math.max((Math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0)
    const th = total(h, kh, sh, dh)
    const tw = total(w, kw, sw, dw)
    return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)]
  }
  if (typeof padding === "number") return [padding, padding, padding, padding]
  if (typeof padding[0] === "number") {
    const [ph, pw] = padding as readonly [number, number]
    return [ph, ph, pw, pw]
  }
  const [[t, b], [l, r]] = padding as readonly [readonly [number, number], readonly [number, number]]
  return [t, b, l, r]
}

const asBatch = (op: string, x: NdArray): [NdArray, boolean] => {
  if (x.ndim === 4) return [x, false]
  if (x.ndim === 3) return [reshape(x, [1, ...x.shape]), true]
  throw new ShapeError({ op, shapes: [x.shape], hint: "expects [N, C, H, W] images (or one [C, H, W] image)" })
}

export interface Conv2dOptions {
  readonly stride?: number | readonly [number, number]
  readonly padding?: Padding
  readonly dilation?: number | readonly [number, number]
}

const patchParams = (op: string, x: NdArray, k: [number, number], options: { stride?: Conv2dOptions["stride"]; padding?: Padding; dilation?: Conv2dOptions["dilation"] }, strideDefault: [number, number], padValue: number) => {
  const stride = options.stride === undefined ? strideDefault : pair(op, options.stride, 1, "strides")
  const dilation = pair(op, options.dilation, 1, "dilations")
  const [padTop, padBottom, padLeft, padRight] = resolvePadding(op, options.padding, [x.shape[2], x.shape[3]], k, stride, dilation)
  const p: ConvParams & { padValue: number } = {
    kh: k[0],
    kw: k[1],
    strideH: stride[0],
    strideW: stride[1],
    dilationH: dilation[0],
    dilationW: dilation[1],
    padTop,
    padBottom,
    padLeft,
    padRight,
    padValue
  }
  return p
}

/**
 * 2-d convolution (cross-correlation, as in PyTorch and JAX): x [N, C, H, W],
 * w [O, C, kh, kw] → [N, O, OH, OW]; stride, padding and dilation per axis.
 * Computed as one matrix product per image over extracted patches.
 *
 * @example
 * const y = NdArray.conv2d(images, kernels, { padding: "same" })
 * @category convolution
 * @since 0.1.0
 */
export const conv2d = (x: NdArray, w: NdArray, opts?: Conv2dOptions): NdArray => {
  const options = optionsObject("conv2d", opts, `conv2d(x, w, { stride: 2, padding: "same" })`)
  let [xs, wt] = promote("conv2d", [x, w], "float")
  const [xb, single] = asBatch("conv2d", xs)
  if (wt.ndim !== 4 || wt.shape[1] !== xb.shape[1]) {
    throw new ShapeError({ op: "conv2d", shapes: [xb.shape, wt.shape], hint: `weights must be [O, C, kh, kw] with C = ${xb.shape[1]} input channels` })
  }
  const [o, c, kh, kw] = wt.shape
  const p = { ...patchParams("conv2d", xb, [kh, kw], options, [1, 1], 0), channelsMajor: true }
  const cols = im2col(xb, p) // [N, C, kh, kw, OH, OW], stored as [C, kh, kw, N, OH, OW]
  const [n, , , , oh, ow] = cols.shape
  const ckk = c * kh * kw
  // One large product over the whole batch, W[O, C·kh·kw] · patches[C·kh·kw, N·OH·OW], rather than one
  // small product per image: its transposes (the weight and input gradients) are single products too.
  const patches = reshape(transpose(cols, [1, 2, 3, 0, 4, 5]), [ckk, n * oh * ow]) // a view
  const out = matmul(reshape(wt, [o, ckk]), patches) // [O, N·OH·OW]
  const y = transpose(reshape(out, [o, n, oh, ow]), [1, 0, 2, 3])
  return single ? reshape(y, y.shape.slice(1)) : y
}

export interface PoolOptions {
  readonly kernelSize: number | readonly [number, number]
  /** Default: the kernel size. */
  readonly stride?: number | readonly [number, number]
  readonly padding?: Padding
}

/** The window size of pooling options (required: a bare number or a missing kernelSize is an error, not a 1×1 window). */
const kernelSize = (op: string, options: PoolOptions): [number, number] => {
  if (typeof options !== "object" || options === null || options.kernelSize === undefined) {
    throw new ValueError({ op, hint: `expects options with a kernelSize, e.g. ${op}(x, { kernelSize: 2 }); got ${JSON.stringify(options)}` })
  }
  return pair(op, options.kernelSize, 1, "kernel sizes")
}

const pool = (op: string, x: NdArray, options: PoolOptions, padValue: number, reduce: (cols: NdArray) => NdArray): NdArray => {
  const [xb, single] = asBatch(op, x)
  const k = kernelSize(op, options)
  const p = patchParams(op, xb, k, options, options.stride === undefined ? k : pair(op, options.stride, 1, "strides"), padValue)
  const y = reduce(im2col(xb, p))
  return single ? reshape(y, y.shape.slice(1)) : y
}

/**
 * Max pooling over kh×kw windows (padding reads the dtype's lowest value:
 * −∞, −2³¹ or False). Ties share the gradient.
 * @category convolution
 * @since 0.1.0
 */
export const maxPool2d = (x: NdArray, options: PoolOptions): NdArray => {
  const [xb, single] = asBatch("maxPool2d", x)
  const k = kernelSize("maxPool2d", options)
  const p = patchParams("maxPool2d", xb, k, options, options.stride === undefined ? k : pair("maxPool2d", options.stride, 1, "strides"), isFloat(x.dtype) ? -Infinity : x.dtype === "int32" ? -(2 ** 31) : 0)
  const y = maxPool(xb, p)
  return single ? reshape(y, y.shape.slice(1)) : y
}

/**
 * Average pooling over kh×kw windows (padding counts as zeros, PyTorch's `count_include_pad`).
 * @category convolution
 * @since 0.1.0
 */
export const avgPool2d = (x: NdArray, options: PoolOptions): NdArray => {
  const xf = isFloat(x.dtype) ? x : convert(x, "float32")
  return pool("avgPool2d", xf, options, 0, (cols) => div(reduceSum(cols, [2, 3]), cols.shape[2] * cols.shape[3]))
}
