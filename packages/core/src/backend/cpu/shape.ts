/** Padding and concatenation: strided copies into a fresh output. */
import { copyInto } from "./elementwise"
import { allocate, contiguousStrides, sizeOf } from "./types"
import type { Buffer, DType, View } from "./types"

/** `x` padded with `low[d]` / `high[d]` (non-negative) copies of `value` on each side of each dim. */
export const pad = (
  x: View,
  low: ReadonlyArray<number>,
  high: ReadonlyArray<number>,
  value: number
): Buffer => {
  const outShape = x.shape.map((s, d) => s + low[d] + high[d])
  const out = allocate(x.dtype, sizeOf(outShape))
  if (value !== 0) out.fill(x.dtype === "bool" ? 1 : value)
  const strides = contiguousStrides(outShape)
  let offset = 0
  for (let d = 0; d < outShape.length; d++) offset += low[d] * strides[d]
  copyInto(out, offset, strides, x)
  return out
}

/** The views (same shape except along `axis`) joined along `axis`, cast to `outDtype`. */
export const concatenate = (xs: ReadonlyArray<View>, axis: number, outDtype: DType): Buffer => {
  const outShape = [...xs[0].shape]
  outShape[axis] = xs.reduce((total, x) => total + x.shape[axis], 0)
  const out = allocate(outDtype, sizeOf(outShape))
  const strides = contiguousStrides(outShape)
  let position = 0
  for (const x of xs) {
    copyInto(out, position * strides[axis], strides, x)
    position += x.shape[axis]
  }
  return out
}
