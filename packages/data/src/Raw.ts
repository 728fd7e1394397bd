/**
 * A neutral, dependency-free tensor representation used by the file-format
 * readers and writers of `@gradfx/data`.
 *
 * Data is always stored densely in row-major (C) order. The array library
 * converts between {@link RawTensor} and its own array type.
 *
 * @since 0.1.0
 */

/**
 * The element types a {@link RawTensor} can hold.
 *
 * - `"float32"` → `Float32Array`
 * - `"float64"` → `Float64Array`
 * - `"int32"` → `Int32Array`
 * - `"bool"` → `Uint8Array` holding `0` or `1`
 * - `"uint8"` → `Uint8Array`
 *
 * @since 0.1.0
 */
export type RawDType = "float32" | "float64" | "int32" | "bool" | "uint8"

/**
 * A dense, row-major (C order) tensor: an element type, a shape, and a flat
 * typed array of `product(shape)` elements.
 *
 * @since 0.1.0
 */
export interface RawTensor {
  readonly dtype: RawDType
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array | Float64Array | Int32Array | Uint8Array
}

/**
 * Number of elements of a tensor of the given shape (`1` for a scalar shape `[]`).
 *
 * @since 0.1.0
 */
export const numel = (shape: ReadonlyArray<number>): number => {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/**
 * Size in bytes of one element of the given dtype.
 *
 * @since 0.1.0
 */
export const itemSize = (dtype: RawDType): number => {
  switch (dtype) {
    case "float32":
    case "int32":
      return 4
    case "float64":
      return 8
    case "bool":
    case "uint8":
      return 1
  }
}

/**
 * Allocates a zero-filled typed array of `length` elements suitable for `dtype`.
 *
 * @since 0.1.0
 */
export const allocData = (
  dtype: RawDType,
  length: number
): Float32Array | Float64Array | Int32Array | Uint8Array => {
  switch (dtype) {
    case "float32":
      return new Float32Array(length)
    case "float64":
      return new Float64Array(length)
    case "int32":
      return new Int32Array(length)
    case "bool":
    case "uint8":
      return new Uint8Array(length)
  }
}

/**
 * Builds a {@link RawTensor}, checking that the typed array matches the dtype
 * and that its length equals the product of the shape. Throws a `RangeError`
 * (a programming error, not a data error) when it does not.
 *
 * @since 0.1.0
 */
export const makeRaw = (
  dtype: RawDType,
  shape: ReadonlyArray<number>,
  data: Float32Array | Float64Array | Int32Array | Uint8Array
): RawTensor => {
  const expectedCtor = allocData(dtype, 0).constructor
  if (data.constructor !== expectedCtor) {
    throw new RangeError(`makeRaw: dtype ${dtype} needs a ${expectedCtor.name}, got ${data.constructor.name}`)
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`makeRaw: invalid shape [${shape.join(", ")}]`)
  }
  const n = numel(shape)
  if (data.length !== n) {
    throw new RangeError(`makeRaw: shape [${shape.join(", ")}] needs ${n} elements, got ${data.length}`)
  }
  return { dtype, shape: [...shape], data }
}
