/**
 * Parameter initialisers. An initialiser is a function
 * `(key, shape, dtype?) → NdArray`; the fan-based ones read the fan-in and
 * fan-out from the shape (see `fans`), the parametrised ones are factories
 * (`normal(0.01)` returns an initialiser).
 *
 * Fans follow PyTorch's layouts, which are the layouts of our layers: a
 * dense weight is `[in, out]` (as `linear` stores it), a convolution weight
 * is `[out, in, kh, kw]` (so fan-in = in·kh·kw, fan-out = out·kh·kw).
 *
 * Deviation: JAX's `glorot_normal`/`he_normal`/`lecun_normal` draw from a
 * truncated normal; ours draw from the plain normal with the stated standard
 * deviation, as PyTorch's `xavier_normal_`/`kaiming_normal_` do.
 *
 * @since 0.1.0
 */
import { type DType, NdArray, Random } from "@gradfx/core"

/** A shape. */
export type Shape = ReadonlyArray<number>

/**
 * An initialiser: fills an array of `shape` (dtype default float32) from a PRNG key.
 *
 * @category models
 * @since 0.1.0
 */
export type Initializer = (key: Random.Key, shape: Shape, dtype?: DType) => NdArray

/**
 * Fan-in and fan-out of a weight shape: `[in, out]` for rank 2;
 * `[out, in, ...receptive field]` for rank ≥ 3 (convolutions); a vector counts
 * its length for both; a scalar counts 1.
 *
 * @example
 * Init.fans([784, 100])       // { fanIn: 784, fanOut: 100 }
 * Init.fans([16, 8, 3, 3])    // { fanIn: 72, fanOut: 144 }
 * @category utilities
 * @since 0.1.0
 */
export const fans = (shape: Shape): { readonly fanIn: number; readonly fanOut: number } => {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 }
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] }
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] }
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1)
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive }
}

const floatDType = (dtype: DType | undefined): DType => dtype ?? "float32"

/**
 * All zeros (the usual bias initialiser).
 *
 * @example
 * const b = Init.zeros(key, [10])
 * @category initializers
 * @since 0.1.0
 */
export const zeros: Initializer = (_key, shape, dtype) => NdArray.zeros(shape, { dtype: floatDType(dtype) })

/**
 * All ones (the usual normalisation-scale initialiser).
 *
 * @category initializers
 * @since 0.1.0
 */
export const ones: Initializer = (_key, shape, dtype) => NdArray.ones(shape, { dtype: floatDType(dtype) })

/**
 * A constant `value` everywhere.
 *
 * @example
 * const init = Init.constant(0.1)
 * const b = init(key, [10])
 * @category initializers
 * @since 0.1.0
 */
export const constant =
  (value: number): Initializer =>
  (_key, shape, dtype) =>
    NdArray.full(shape, value, { dtype: floatDType(dtype) })

/**
 * Normal samples N(mean, std²); default std 0.01.
 *
 * @example
 * const w = Init.normal(0.02)(key, [128, 64])
 * @category initializers
 * @since 0.1.0
 */
export const normal =
  (std = 1e-2, mean = 0): Initializer =>
  (key, shape, dtype) =>
    Random.normal(key, shape, { mean, std, dtype: floatDType(dtype) })

/**
 * Uniform samples: `uniform(a)` draws from [−a, a) (default a = 0.05, as
 * Keras' `RandomUniform`), `uniform({ min, max })` from [min, max).
 *
 * @example
 * const w = Init.uniform(0.1)(key, [3, 3])            // U[−0.1, 0.1)
 * const v = Init.uniform({ min: 0, max: 1 })(key, [4]) // U[0, 1)
 * @category initializers
 * @since 0.1.0
 */
export const uniform =
  (range: number | { readonly min?: number; readonly max?: number } = 0.05): Initializer =>
  (key, shape, dtype) => {
    const [min, max] = typeof range === "number" ? [-range, range] : [range.min ?? 0, range.max ?? 1]
    return Random.uniform(key, shape, { min, max, dtype: floatDType(dtype) })
  }

/**
 * Variance scaling (the family behind Glorot, He and LeCun): variance
 * `scale / n` where n is the fan-in, the fan-out or their mean; drawn from a
 * normal with that variance, or a uniform on [−√(3·var), √(3·var)).
 *
 * @example
 * const he = Init.varianceScaling({ scale: 2, mode: "fanIn", distribution: "normal" })
 * @category initializers
 * @since 0.1.0
 */
export const varianceScaling =
  (options: { readonly scale: number; readonly mode: "fanIn" | "fanOut" | "fanAvg"; readonly distribution: "normal" | "uniform" }): Initializer =>
  (key, shape, dtype) => {
    const { fanIn, fanOut } = fans(shape)
    const n = options.mode === "fanIn" ? fanIn : options.mode === "fanOut" ? fanOut : (fanIn + fanOut) / 2
    const variance = options.scale / Math.max(n, 1)
    if (options.distribution === "normal") return Random.normal(key, shape, { std: Math.sqrt(variance), dtype: floatDType(dtype) })
    const limit = Math.sqrt(3 * variance)
    return Random.uniform(key, shape, { min: -limit, max: limit, dtype: floatDType(dtype) })
  }

/**
 * Glorot (Xavier) normal: N(0, 2/(fanIn + fanOut)) (Glorot & Bengio 2010).
 *
 * @example
 * const w = Init.glorotNormal(key, [784, 100])
 * @category initializers
 * @since 0.1.0
 */
export const glorotNormal: Initializer = varianceScaling({ scale: 1, mode: "fanAvg", distribution: "normal" })

/**
 * Glorot (Xavier) uniform: U[−√(6/(fanIn + fanOut)), √(6/(fanIn + fanOut))).
 *
 * @category initializers
 * @since 0.1.0
 */
export const glorotUniform: Initializer = varianceScaling({ scale: 1, mode: "fanAvg", distribution: "uniform" })

/**
 * He (Kaiming) normal: N(0, 2/fanIn), for ReLU networks (He et al. 2015).
 *
 * @example
 * const w = Init.heNormal(key, [32, 16, 3, 3]) // std √(2 / (16·9))
 * @category initializers
 * @since 0.1.0
 */
export const heNormal: Initializer = varianceScaling({ scale: 2, mode: "fanIn", distribution: "normal" })

/**
 * He (Kaiming) uniform: U[−√(6/fanIn), √(6/fanIn)).
 *
 * @category initializers
 * @since 0.1.0
 */
export const heUniform: Initializer = varianceScaling({ scale: 2, mode: "fanIn", distribution: "uniform" })

/**
 * LeCun normal: N(0, 1/fanIn) (LeCun et al. 1998; the right scale for SELU).
 *
 * @category initializers
 * @since 0.1.0
 */
export const lecunNormal: Initializer = varianceScaling({ scale: 1, mode: "fanIn", distribution: "normal" })

/**
 * LeCun uniform: U[−√(3/fanIn), √(3/fanIn)).
 *
 * @category initializers
 * @since 0.1.0
 */
export const lecunUniform: Initializer = varianceScaling({ scale: 1, mode: "fanIn", distribution: "uniform" })

/**
 * The "scaled normal" of Nielsen's improved network (Neural Networks and Deep
 * Learning, ch. 3): weights N(0, 1/n_in), n_in the number of inputs to the
 * neuron, so the weighted input z = Σ wx + b does not saturate sigmoid
 * neurons. Numerically the same distribution as `lecunNormal`; Nielsen draws
 * the biases from N(0, 1) (`Init.normal(1)`).
 *
 * @example
 * const w = Init.scaledNormal(key, [784, 30]) // std 1/√784
 * @category initializers
 * @since 0.1.0
 */
export const scaledNormal: Initializer = (key, shape, dtype) =>
  Random.normal(key, shape, { std: 1 / Math.sqrt(Math.max(fans(shape).fanIn, 1)), dtype: floatDType(dtype) })
