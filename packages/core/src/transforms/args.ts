/** Flattening of transform arguments and results into arrays. */
import { DTypeError, ShapeError, TransformError } from "../Errors.js"
import { isFloat } from "../interpreter/aval.js"
import { ArrayValue, isNdArray, type NdArray, SCALAR_SHAPE } from "../interpreter/ndarray.js"
import * as Tree from "../Tree.js"

/** A leaf as an array: numbers become float32 scalars. */
export const leafToArray = (leaf: Tree.Leaf): NdArray => {
  if (isNdArray(leaf)) return leaf
  return ArrayValue.fromBuffer(Float32Array.of(leaf), "float32", SCALAR_SHAPE)
}

/** Flatten a pytree into arrays. */
export const flattenArrays = (tree: unknown): [Array<NdArray>, Tree.TreeDef] => {
  const [leaves, def] = Tree.flatten(tree)
  return [leaves.map(leafToArray), def]
}

/** Differentiation needs float leaves. */
export const checkFloat = (transform: string, xs: ReadonlyArray<NdArray>, what = "argument"): void => {
  for (const x of xs) {
    if (!isFloat(x.dtype)) {
      throw new DTypeError({
        op: transform,
        dtypes: [x.dtype],
        hint: `cannot differentiate with respect to an ${x.dtype} ${what} of shape [${x.shape.join(", ")}]; only float32 and float64 inputs have tangents (convert it, or leave it out of argnums)`
      })
    }
  }
}

/** Normalise `argnums` against the number of arguments. */
export const normalizeArgnums = (transform: string, argnums: number | ReadonlyArray<number>, count: number): Array<number> => {
  const list = typeof argnums === "number" ? [argnums] : [...argnums]
  return list.map((a) => {
    if (!Number.isInteger(a) || a < -count || a >= count) {
      throw new TransformError({ transform, hint: `argnums ${a} is out of range for a call with ${count} positional arguments` })
    }
    return a < 0 ? a + count : a
  })
}

/** Check that a tangent/cotangent tree matches its primal tree in structure and shapes. */
export const checkMatching = (transform: string, what: string, primals: ReadonlyArray<NdArray>, primalDef: Tree.TreeDef, tree: unknown): Array<NdArray> => {
  const [xs, def] = flattenArrays(tree)
  if (!Tree.sameStructure(def, primalDef)) {
    throw new TransformError({
      transform,
      hint: `${what} must have the structure of the primals: expected ${Tree.showStructure(primalDef)}, got ${Tree.showStructure(def)}`
    })
  }
  xs.forEach((x, i) => {
    const p = primals[i]
    if (x.ndim !== p.ndim || x.shape.some((d, j) => d !== p.shape[j])) {
      throw new ShapeError({ op: transform, shapes: [p.shape, x.shape], hint: `${what} ${i} has shape [${x.shape.join(", ")}] but its primal has shape [${p.shape.join(", ")}]` })
    }
  })
  return xs
}
