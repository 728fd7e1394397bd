/**
 * Convolution and pooling layers over NCHW images: one image `[C, H, W]` or
 * a batch `[N, C, H, W]` (core's `conv2d`/`maxPool2d`/`avgPool2d` accept
 * both). Output sizes are computed at `init` with the same padding rules as
 * core, so a network's flatten size is never computed by hand.
 */
import { NdArray, Random } from "@gradfx/core"
import * as Init from "../Init.js"
import { LayerError, LayerShapeError } from "./errors.js"
import { type Layer, parameterless, requireShape, type Shape, stateless } from "./layer.js"

/** Padding as core's `conv2d` takes it: "valid", "same", one number, [ph, pw], or [[top, bottom], [left, right]]. */
export type Padding = "valid" | "same" | number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]]

interface PoolOptions {
  readonly kernelSize: readonly [number, number]
  readonly stride: readonly [number, number]
  readonly padding: Padding
}

type Pair = number | readonly [number, number]

const pair = (layer: string, what: string, v: Pair | undefined, dflt: number): [number, number] => {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : [v[0], v[1]]
  if (p.some((d) => !Number.isInteger(d) || d < 1)) throw new LayerError({ layer, hint: `${what} must be positive integers, got ${JSON.stringify(v)}` })
  return p
}

/** Output size along one axis, with core's padding rules ("same": ⌈n/s⌉, extra padding at the end). */
const outputSize = (n: number, k: number, s: number, d: number, pad: readonly [number, number] | "same"): number => {
  if (pad === "same") return Math.ceil(n / s)
  return Math.floor((n + pad[0] + pad[1] - d * (k - 1) - 1) / s) + 1
}

const paddings = (layer: string, padding: Padding | undefined): [readonly [number, number], readonly [number, number]] | "same" => {
  if (padding === undefined || padding === "valid") return [[0, 0], [0, 0]]
  if (padding === "same") return "same"
  const check = (v: number) => {
    if (!Number.isInteger(v) || v < 0) throw new LayerError({ layer, hint: `padding must be non-negative integers, got ${JSON.stringify(padding)}` })
    return v
  }
  if (typeof padding === "number") return [[check(padding), padding], [padding, padding]]
  if (typeof padding[0] === "number") {
    const [ph, pw] = padding as readonly [number, number]
    return [[check(ph), ph], [check(pw), pw]]
  }
  const [[t, b], [l, r]] = padding as readonly [readonly [number, number], readonly [number, number]]
  return [[check(t), check(b)], [check(l), check(r)]]
}

interface Window {
  readonly kernel: [number, number]
  readonly stride: [number, number]
  readonly dilation: [number, number]
  readonly padding: [readonly [number, number], readonly [number, number]] | "same"
}

const spatialOutput = (w: Window, h: number, wd: number): [number, number] => {
  const p = w.padding
  return [
    outputSize(h, w.kernel[0], w.stride[0], w.dilation[0], p === "same" ? "same" : p[0]),
    outputSize(wd, w.kernel[1], w.stride[1], w.dilation[1], p === "same" ? "same" : p[1])
  ]
}

/** Check a per-example or batched image against the window; returns the output spatial size. */
const checkImage = (layer: string, shape: Shape, window: Window, channels: number | null, allowBatch: boolean): [number, number] => {
  const c = channels === null ? "C" : String(channels)
  const expected = allowBatch ? `[N, ${c}, H, W] or [${c}, H, W]` : `[${c}, H, W]`
  if (!(shape.length === 3 || (allowBatch && shape.length === 4))) throw new LayerShapeError({ layer, expected, actual: shape })
  const [ch, h, w] = shape.slice(-3)
  if (channels !== null && ch !== channels) throw new LayerShapeError({ layer, expected, actual: shape, hint: `${ch} input channels where the weights have ${channels}` })
  const [oh, ow] = spatialOutput(window, h, w)
  if (oh < 1 || ow < 1) {
    throw new LayerShapeError({
      layer,
      expected,
      actual: shape,
      hint: `the ${window.kernel[0]}×${window.kernel[1]} window (stride ${window.stride.join("×")}, dilation ${window.dilation.join("×")}) does not fit in ${h}×${w}`
    })
  }
  return [oh, ow]
}

/**
 * Parameters of `conv2d`: kernels W `[out, in, kh, kw]` and bias b `[out]`.
 *
 * @category layers
 * @since 0.1.0
 */
export interface Conv2dParams {
  readonly w: NdArray
  readonly b?: NdArray
}

/** Configuration of `conv2d`. */
export interface Conv2dConfig {
  readonly outChannels: number
  readonly kernelSize: Pair
  /** Default 1. */
  readonly stride?: Pair
  /** Default "valid". */
  readonly padding?: Padding
  /** Default 1. */
  readonly dilation?: Pair
  /** Input channels; default: the first axis of the input shape given to `init`. */
  readonly inChannels?: number
  /** Default true. */
  readonly useBias?: boolean
  /** Default `Init.heNormal` (fan-in = in·kh·kw). */
  readonly weightInit?: Init.Initializer
  /** Default `Init.zeros`. */
  readonly biasInit?: Init.Initializer
}

/**
 * A 2-d convolution layer (cross-correlation, as PyTorch's `Conv2d`):
 * `[N, C, H, W]` or `[C, H, W]` → `[N, O, OH, OW]` / `[O, OH, OW]`. The input
 * channels come from the input shape `[C, H, W]` given to `init`.
 *
 * @example
 * const conv = Layers.conv2d({ outChannels: 8, kernelSize: 5, padding: "same" })
 * const { params, outputShape } = conv.init(Random.key(0), [1, 28, 28]) // outputShape [8, 28, 28]
 * const features = conv.apply(params, images)                           // [N, 1, 28, 28] → [N, 8, 28, 28]
 * @category layers
 * @since 0.1.0
 */
export const conv2d = (config: Conv2dConfig): Layer<Conv2dParams, null> => {
  const name = "conv2d"
  if (!Number.isInteger(config.outChannels) || config.outChannels < 1) throw new LayerError({ layer: name, hint: `outChannels must be a positive integer, got ${config.outChannels}` })
  const window: Window = {
    kernel: pair(name, "kernelSize", config.kernelSize, 1),
    stride: pair(name, "stride", config.stride, 1),
    dilation: pair(name, "dilation", config.dilation, 1),
    padding: paddings(name, config.padding)
  }
  const useBias = config.useBias ?? true
  const options = { stride: window.stride, dilation: window.dilation, padding: config.padding ?? "valid" } as const
  return stateless(
    name,
    (key, inputShape, initOptions) => {
      const shape = requireShape(name, inputShape, "the input channels and the output size")
      const [oh, ow] = checkImage(name, shape, window, config.inChannels ?? null, false)
      const c = shape[0]
      const [kw, kb] = Random.split(key, 2)
      const w = (config.weightInit ?? Init.heNormal)(kw, [config.outChannels, c, ...window.kernel], initOptions.dtype)
      const params: Conv2dParams = useBias ? { w, b: (config.biasInit ?? Init.zeros)(kb, [config.outChannels], initOptions.dtype) } : { w }
      return { params, outputShape: [config.outChannels, oh, ow] }
    },
    (params, x) => {
      checkImage(name, x.shape, window, params.w.shape[1], true)
      const y = NdArray.conv2d(x, params.w, options)
      return params.b === undefined ? y : NdArray.add(y, NdArray.reshape(params.b, [params.b.shape[0], 1, 1]))
    }
  )
}

/** Configuration of the pooling layers. */
export interface PoolConfig {
  readonly kernelSize: Pair
  /** Default: the kernel size (non-overlapping windows). */
  readonly stride?: Pair
  /** Default "valid". */
  readonly padding?: Padding
}

const pool = (name: string, config: PoolConfig, f: (x: NdArray, options: PoolOptions) => NdArray): Layer<null, null> => {
  const kernel = pair(name, "kernelSize", config.kernelSize, 1)
  const window: Window = { kernel, stride: pair(name, "stride", config.stride ?? kernel, 1), dilation: [1, 1], padding: paddings(name, config.padding) }
  const options: PoolOptions = { kernelSize: kernel, stride: window.stride, padding: config.padding ?? "valid" }
  return parameterless(
    name,
    (x) => {
      checkImage(name, x.shape, window, null, true)
      return f(x, options)
    },
    (inputShape) => {
      const [oh, ow] = checkImage(name, inputShape, window, null, false)
      return [inputShape[0], oh, ow]
    }
  )
}

/**
 * Max pooling over kh×kw windows (stride default = the window): `[N, C, H, W]`
 * or `[C, H, W]`. Ties share the gradient.
 *
 * @example
 * const pool = Layers.maxPool2d({ kernelSize: 2 }) // [N, 8, 28, 28] → [N, 8, 14, 14]
 * @category layers
 * @since 0.1.0
 */
export const maxPool2d = (config: PoolConfig): Layer<null, null> => pool("maxPool2d", config, NdArray.maxPool2d)

/**
 * Average pooling over kh×kw windows (stride default = the window; padding
 * counts as zeros).
 *
 * @example
 * const pool = Layers.avgPool2d({ kernelSize: 2 })
 * @category layers
 * @since 0.1.0
 */
export const avgPool2d = (config: PoolConfig): Layer<null, null> => pool("avgPool2d", config, NdArray.avgPool2d)
