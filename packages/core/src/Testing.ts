/**
 * `@gradfx/core/testing`: the gradient checker and fast-check arbitraries,
 * so users property-test their own functions the way gradfx tests its own.
 *
 * @example
 * import * as fc from "fast-check"
 * import { Arb, checkGrads } from "@gradfx/core/testing"
 * fc.assert(fc.property(Arb.ndarray({ shape: [3, 4] }), (x) => checkGrads(myLoss, [x])))
 * @since 0.1.0
 */
import * as fc from "fast-check"
import type { DType } from "./interpreter/aval.js"
import { ArrayValue, type NdArray } from "./interpreter/ndarray.js"
import * as cpu from "./backend/cpu/types.js"
import * as Random from "./Random.js"

export { checkGrads, GradCheckError, type CheckGradsOptions } from "./checkGrads.js"

export type Shape = ReadonlyArray<number>

export interface ShapeOptions {
  readonly minRank?: number
  readonly maxRank?: number
  readonly minDim?: number
  readonly maxDim?: number
}

export interface NdArrayOptions {
  /** A fixed shape, or an arbitrary of shapes (default `shape()`). */
  readonly shape?: Shape | fc.Arbitrary<Shape>
  /** Default float64 (what gradient checks want). */
  readonly dtype?: DType
  readonly min?: number
  readonly max?: number
}

const isArbitrary = (u: unknown): u is fc.Arbitrary<Shape> => typeof u === "object" && u !== null && "generate" in u

export const Arb = {
  /** Shapes of rank minRank..maxRank (default 0..3) with dims minDim..maxDim (default 1..4). */
  shape: (o: ShapeOptions = {}): fc.Arbitrary<Shape> =>
    fc.array(fc.integer({ min: o.minDim ?? 1, max: o.maxDim ?? 4 }), { minLength: o.minRank ?? 0, maxLength: o.maxRank ?? 3 }),

  /** Arrays of a dtype and value range (floats avoid NaN/∞; ints are integers in range; bools random). */
  ndarray: (o: NdArrayOptions = {}): fc.Arbitrary<NdArray> => {
    const dtype = o.dtype ?? "float64"
    const shapeArb = o.shape === undefined ? Arb.shape() : isArbitrary(o.shape) ? o.shape : fc.constant(o.shape)
    const min = o.min ?? (dtype === "int32" ? -100 : -10)
    const max = o.max ?? (dtype === "int32" ? 100 : 10)
    const element: fc.Arbitrary<number> =
      dtype === "bool"
        ? fc.boolean().map(Number)
        : dtype === "int32"
          ? fc.integer({ min, max })
          : dtype === "float32"
            ? fc.float({ min: Math.fround(min), max: Math.fround(max), noNaN: true, noDefaultInfinity: true })
            : fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
    return shapeArb.chain((shape) => {
      const size = shape.reduce((a, b) => a * b, 1)
      return fc.array(element, { minLength: size, maxLength: size }).map((vals) => {
        const buffer = cpu.allocate(dtype, size)
        vals.forEach((v, i) => (buffer[i] = v))
        return ArrayValue.fromBuffer(buffer, dtype, shape) as NdArray
      })
    })
  },

  /** Two shapes that broadcast together (some dims 1, some missing). */
  broadcastShapes: (o: ShapeOptions = {}): fc.Arbitrary<[Shape, Shape]> =>
    Arb.shape(o).chain((out) =>
      fc.tuple(
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
        fc.integer({ min: 0, max: out.length }),
        fc.integer({ min: 0, max: out.length })
      ).map(([onesA, onesB, dropA, dropB]) => {
        const a = out.map((d, i) => (onesA[i] ? 1 : d)).slice(dropA)
        const b = out.map((d, i) => (onesB[i] ? 1 : d)).slice(dropB)
        return [a, b] as [Shape, Shape]
      })
    ),

  /** A pair of arrays whose shapes broadcast together. */
  broadcastPair: (o: Omit<NdArrayOptions, "shape"> & ShapeOptions = {}): fc.Arbitrary<[NdArray, NdArray]> =>
    Arb.broadcastShapes(o).chain(([a, b]) => fc.tuple(Arb.ndarray({ ...o, shape: a }), Arb.ndarray({ ...o, shape: b }))),

  /** Pytrees of arrays: records and tuples nested up to `depth` (default 2). */
  pytree: (o: Omit<NdArrayOptions, "shape"> & { readonly depth?: number } = {}): fc.Arbitrary<unknown> => {
    const { tree } = fc.letrec<{ tree: unknown; node: unknown }>((tie) => ({
      tree: fc.oneof({ depthSize: "small", maxDepth: o.depth ?? 2 }, Arb.ndarray({ ...o, shape: Arb.shape({ maxRank: 2, maxDim: 3 }) }), tie("node")),
      node: fc.oneof(
        fc.dictionary(fc.constantFrom("w", "b", "layer", "scale", "bias"), tie("tree"), { minKeys: 1, maxKeys: 3 }),
        fc.array(tie("tree"), { minLength: 1, maxLength: 3 })
      )
    }))
    return tree
  },

  /** One-hot rows [n, classes] (float64). */
  oneHot: (n: number, classes: number): fc.Arbitrary<NdArray> =>
    fc.array(fc.integer({ min: 0, max: classes - 1 }), { minLength: n, maxLength: n }).map((labels) => {
      const b = new Float64Array(n * classes)
      labels.forEach((l, i) => (b[i * classes + l] = 1))
      return ArrayValue.fromBuffer(b, "float64", [n, classes]) as NdArray
    }),

  /** PRNG keys. */
  key: (): fc.Arbitrary<Random.Key> => fc.integer({ min: 0, max: 2 ** 31 - 1 }).map(Random.key)
}
