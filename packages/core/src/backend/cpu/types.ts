/**
 * The data types the CPU kernels work on. Kernels are plain functions over
 * typed arrays: they know nothing of tracers, transforms or errors. Every
 * kernel returns a fresh, contiguous, row-major buffer and never writes to
 * its inputs.
 */
export type DType = "float32" | "float64" | "int32" | "bool"

/** The typed array that backs each dtype (`bool` is stored as 0/1 bytes). */
export type Buffer = Float32Array | Float64Array | Int32Array | Uint8Array

/**
 * A strided view of a buffer. Element `[i0, …, in]` lives at
 * `offset + Σ ik * strides[k]` (in elements, not bytes). Strides may be 0
 * (broadcast) or negative (flip).
 */
export interface View {
  readonly buffer: Buffer
  readonly dtype: DType
  readonly shape: ReadonlyArray<number>
  readonly strides: ReadonlyArray<number>
  readonly offset: number
}

export const allocate = (dtype: DType, size: number): Buffer => {
  switch (dtype) {
    case "float32":
      return new Float32Array(size)
    case "float64":
      return new Float64Array(size)
    case "int32":
      return new Int32Array(size)
    case "bool":
      return new Uint8Array(size)
  }
}

export const sizeOf = (shape: ReadonlyArray<number>): number => {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Row-major strides of a contiguous array of `shape`. */
export const contiguousStrides = (shape: ReadonlyArray<number>): Array<number> => {
  const strides = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s
    s *= shape[i]
  }
  return strides
}

/** True when the view is row-major contiguous (its elements are `buffer[offset .. offset + size)` in order). */
export const isContiguous = (v: View): boolean => {
  let s = 1
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.strides[i] !== s) return false
    s *= v.shape[i]
  }
  return true
}
