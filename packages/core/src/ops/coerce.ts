/** Turning user input (arrays, numbers, booleans) into operands, with JAX-style weak typing of JavaScript numbers. */
import { DTypeError } from "../Errors.js"
import { type DType, isFloat, promoteTypes } from "../interpreter/aval.js"
import { ArrayValue, isNdArray, type NdArray, SCALAR_SHAPE } from "../interpreter/ndarray.js"
import { convert } from "../primitives/elementwise.js"

/** An array, or a JavaScript number/boolean standing for a (weakly typed) scalar. */
export type ArrayLike = NdArray | number | boolean

export const scalarArray = (v: number | boolean, dtype: DType): NdArray => {
  const x = ArrayValue.fromBuffer(
    dtype === "float32" ? new Float32Array(1) : dtype === "float64" ? new Float64Array(1) : dtype === "int32" ? new Int32Array(1) : new Uint8Array(1),
    dtype,
    SCALAR_SHAPE
  )
  ;(x.buffer as Float32Array)[0] = typeof v === "boolean" ? (v ? 1 : 0) : v
  return x
}

/** The dtype a weak scalar takes next to an array of `dtype`. */
const weakDType = (v: number | boolean, dtype: DType): DType => {
  if (typeof v === "boolean") return dtype
  if (isFloat(dtype)) return dtype
  if (Number.isInteger(v)) return dtype === "bool" ? "int32" : dtype
  return "float32"
}

/** The default dtype of a lone JavaScript value. */
export const defaultDType = (v: number | boolean): DType => (typeof v === "boolean" ? "bool" : "float32")

/** Reject what is not an array, a number or a boolean (e.g. `undefined` from a missing argument) instead of computing NaN. */
const checkOperand = (x: unknown): void => {
  if (!isNdArray(x) && typeof x !== "number" && typeof x !== "boolean") {
    throw new DTypeError({ op: "operand", dtypes: [x === null ? "null" : typeof x], hint: "expected an NdArray, a number or a boolean" })
  }
}

export const asArray = (x: ArrayLike, dtype?: DType): NdArray => {
  if (isNdArray(x)) return dtype === undefined || x.dtype === dtype ? x : convert(x, dtype)
  checkOperand(x)
  return scalarArray(x, dtype ?? defaultDType(x))
}

/** Promote operands to one dtype (see the table in `aval.ts`); numbers adapt to the arrays. */
export const promote = (op: string, xs: ReadonlyArray<ArrayLike>, minimum?: "float"): Array<NdArray> => {
  let dtype: DType | null = null
  for (const x of xs) if (isNdArray(x)) dtype = dtype === null ? x.dtype : promoteTypes(dtype, x.dtype)
  for (const x of xs) {
    if (isNdArray(x)) continue
    checkOperand(x)
    dtype = dtype === null ? defaultDType(x) : promoteTypes(dtype, weakDType(x, dtype))
  }
  let d = dtype ?? "float32"
  if (minimum === "float" && !isFloat(d)) d = "float32"
  return xs.map((x) => asArray(x, d))
}

export const requireDType = (op: string, x: NdArray, allowed: ReadonlyArray<DType>): void => {
  if (!allowed.includes(x.dtype)) throw new DTypeError({ op, dtypes: [x.dtype], hint: `expects ${allowed.join(" or ")}` })
}
