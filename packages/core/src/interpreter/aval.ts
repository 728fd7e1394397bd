/**
 * Abstract values. A transform rarely needs an array's numbers, only its
 * shape and dtype: the `ShapedArray` is what `abstractEval` computes and what
 * a staged (unknown) value carries. Dtype promotion and broadcasting live here
 * so that every primitive validates its inputs the same way.
 */
import type { DType } from "../backend/cpu/types.js"
import { AxisError, DTypeError, ShapeError, type Shape, ValueError } from "../Errors.js"

export type { DType } from "../backend/cpu/types.js"

export const dtypes: ReadonlyArray<DType> = ["float32", "float64", "int32", "bool"]

export const isDType = (u: unknown): u is DType => typeof u === "string" && (dtypes as ReadonlyArray<string>).includes(u)

export const isFloat = (dtype: DType): boolean => dtype === "float32" || dtype === "float64"

/** The shape and dtype of an array, without its values. */
export class ShapedArray {
  constructor(readonly shape: Shape, readonly dtype: DType) {}
  get ndim(): number {
    return this.shape.length
  }
  get size(): number {
    let n = 1
    for (const d of this.shape) n *= d
    return n
  }
  equals(that: ShapedArray): boolean {
    return this.dtype === that.dtype && sameShape(this.shape, that.shape)
  }
  toString(): string {
    return `${this.dtype}[${this.shape.join(",")}]`
  }
}

export const sameShape = (a: Shape, b: Shape): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Dtype promotion (JAX's lattice without 64-bit integers):
 *
 * |         | bool    | int32   | float32 | float64 |
 * |---------|---------|---------|---------|---------|
 * | bool    | bool    | int32   | float32 | float64 |
 * | int32   | int32   | int32   | float32 | float64 |
 * | float32 | float32 | float32 | float32 | float64 |
 * | float64 | float64 | float64 | float64 | float64 |
 *
 * int32 with float32 gives float32 as in JAX (NumPy would give float64).
 * JavaScript numbers are weakly typed: they take the dtype of the array they
 * meet (an integer number keeps an int32 array int32, a fractional one makes
 * it float32).
 */
const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 }

export const promoteTypes = (a: DType, b: DType): DType => (rank[a] >= rank[b] ? a : b)

export const toFloatDType = (dtype: DType): DType => (isFloat(dtype) ? dtype : "float32")

/** NumPy broadcasting: align trailing dimensions; each pair is equal or one of them is 1. */
export const broadcastShapes = (op: string, ...shapes: ReadonlyArray<Shape>): Array<number> => {
  const ndim = Math.max(0, ...shapes.map((s) => s.length))
  const out = new Array<number>(ndim).fill(1)
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = ndim - s.length + i
      const d = s[i]
      if (out[j] === 1) out[j] = d
      else if (d !== 1 && d !== out[j]) {
        throw new ShapeError({
          op,
          shapes,
          hint: `cannot broadcast: dimension ${i - s.length} is ${d} in one operand and ${out[j]} in another; each aligned (trailing) dimension must be equal or 1`
        })
      }
    }
  }
  return out
}

/** Normalise a possibly negative axis against `ndim`, or throw an `AxisError`. */
export const normalizeAxis = (op: string, axis: number, ndim: number): number => {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) throw new AxisError({ op, axis, ndim })
  return axis < 0 ? axis + ndim : axis
}

/**
 * The options object of an op that takes its axis there. A number, an array
 * or anything else that is not an object (NumPy's positional `axis`) is a
 * ValueError: read as options it has no `axis`, and the op would silently
 * work over every axis.
 */
export const axisOptions = <O extends object>(op: string, options: O | undefined): Partial<O> =>
  checkOptions(op, options, `takes its axis in an options object, e.g. ${op}(x, { axis: -1 })`)

/**
 * The options object of any op: a number, a string or an array in its place
 * (JAX's positional `argnums` or `dtype`: `grad(f, 1)`, `ones([2], "float64")`)
 * is a ValueError naming the fix, not options with nothing set.
 */
export const optionsObject = <O extends object>(op: string, options: O | undefined, example: string): Partial<O> =>
  checkOptions(op, options, `takes its options as an object, e.g. ${example}`)

const checkOptions = <O extends object>(op: string, options: O | undefined, hint: string): Partial<O> => {
  if (options === undefined) return {}
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new ValueError({ op, hint: `${hint}; got ${JSON.stringify(options) ?? String(options)}` })
  }
  return options
}

/** Normalise `axis` (undefined = all axes) into a sorted list of distinct non-negative axes. */
export const normalizeAxes = (op: string, axis: number | ReadonlyArray<number> | undefined | null, ndim: number): Array<number> => {
  if (axis === undefined || axis === null) {
    const all = new Array<number>(ndim)
    for (let i = 0; i < ndim; i++) all[i] = i
    return all
  }
  if (typeof axis === "number") return [normalizeAxis(op, axis, ndim)]
  const list = typeof axis === "number" ? [axis] : axis
  const out = list.map((a) => normalizeAxis(op, a, ndim))
  if (new Set(out).size !== out.length) throw new AxisError({ op, axis: list, ndim, hint: "repeated axis" })
  return out.sort((a, b) => a - b)
}

export const checkDType = (op: string, dtype: unknown): DType => {
  if (!isDType(dtype)) {
    throw new DTypeError({ op, dtypes: [String(dtype)], hint: `unknown dtype; expected one of ${dtypes.join(", ")}` })
  }
  return dtype
}
