/**
 * Pytrees: flatten/unflatten round trips on random nested records, tuples
 * and arrays; leaf order; `map` over several trees; `paths`; `partition` /
 * `combine`; structure mismatches are typed errors.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import * as Tree from "../src/Tree.js"

type NdArray = ReturnType<typeof NdArray.zeros>

/** Random pytrees whose leaves are small arrays or numbers, with some static parts. */
const { tree: treeArb } = fc.letrec<{ tree: unknown; leaf: unknown }>((tie) => ({
  leaf: fc.oneof(
    fc.integer({ min: -5, max: 5 }),
    fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 3 }).map((v) => NdArray.array(v))
  ),
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("leaf"),
    fc.array(tie("tree"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("a", "b", "w", "layer", "k0"), tie("tree"), { maxKeys: 3 }),
    fc.constantFrom("relu", null, true)
  )
}))

const sameLeaves = (a: ReadonlyArray<unknown>, b: ReadonlyArray<unknown>) => {
  expect(a.length).toBe(b.length)
  a.forEach((x, i) => expect(x).toBe(b[i]))
}

describe("flatten / unflatten", () => {
  it("round trip: unflatten(flatten(t)) rebuilds an equal tree with the very same leaves", () =>
    fc.assert(
      fc.property(treeArb, (t) => {
        const [leaves, def] = Tree.flatten(t)
        const back = Tree.unflatten(def, leaves)
        expect(back).toEqual(t)
        sameLeaves(Tree.leaves(back), leaves)
        expect(Tree.numLeaves(def)).toBe(leaves.length)
      }),
      { numRuns: 50 }
    ))

  it("leaves come depth first, object keys in insertion order; strings/booleans/null are static", () => {
    const w = NdArray.ones([2])
    const b = NdArray.zeros([1])
    const t = { layers: [{ w, b, act: "relu" }, 3], scale: 0.5, frozen: true, none: null }
    const [leaves, def] = Tree.flatten(t)
    sameLeaves(leaves, [w, b, 3, 0.5])
    expect(Tree.showStructure(def)).toBe('{ layers: [{ w: *, b: *, act: "relu" }, *], scale: *, frozen: true, none: null }')
    expect(Tree.unflatten<{ layers: [{ act: string }, number] }>(def, [1, 2, 3, 4]).layers[0].act).toBe("relu")
  })

  it("unflatten with the wrong number of leaves is a ShapeError", () => {
    const [, def] = Tree.flatten({ a: 1, b: [2, 3] })
    expect(() => Tree.unflatten(def, [1, 2])).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
  })

  it("class instances are static (not traversed)", () => {
    class Config {
      constructor(readonly lr: number) {}
    }
    const c = new Config(0.1)
    const [leaves, def] = Tree.flatten({ c, x: 1 })
    expect(leaves).toEqual([1])
    expect(Tree.unflatten<{ c: Config }>(def, [2]).c).toBe(c)
  })
})

describe("map", () => {
  it("applies f to every leaf, keeping the structure", () =>
    fc.assert(
      fc.property(treeArb, (t) => {
        const m = Tree.map(t, (x: NdArray | number) => (typeof x === "number" ? x * 2 : NdArray.mul(x, 2)))
        expect(Tree.sameStructure(Tree.structure(m), Tree.structure(t))).toBe(true)
        const before = Tree.leaves(t)
        Tree.leaves(m).forEach((l, i) => {
          const b = before[i]
          if (typeof b === "number") expect(l).toBe(b * 2)
          else expect((l as NdArray).toArray()).toEqual(NdArray.mul(b, 2).toArray())
        })
      }),
      { numRuns: 40 }
    ))

  it("zips several trees of the same structure; different structures are a ShapeError", () => {
    const a = { w: NdArray.array([1, 2]), b: [NdArray.array([3])] }
    const g = { w: NdArray.array([10, 20]), b: [NdArray.array([30])] }
    const s = Tree.map(a, (x: NdArray, y: NdArray) => NdArray.add(x, y), g)
    expect(s.w.toArray()).toEqual([11, 22])
    expect(s.b[0].toArray()).toEqual([33])
    expect(() => Tree.map(a, (x: NdArray) => x, { w: g.w })).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
    expect(() => Tree.map(a, (x: NdArray) => x, { b: g.b, w: g.w })).toThrow(expect.objectContaining({ _tag: "ShapeError" }))
  })
})

describe("paths", () => {
  it("dotted names in leaf order", () => {
    const t = { layers: [{ w: 1, b: 2 }, { w: 3 }], head: { scale: NdArray.ones([1]) }, name: "mlp" }
    expect(Tree.paths(t)).toEqual(["layers.0.w", "layers.0.b", "layers.1.w", "head.scale"])
    expect(Tree.paths(NdArray.ones([1]))).toEqual([""])
  })

  it("one path per leaf, all distinct", () =>
    fc.assert(
      fc.property(treeArb, (t) => {
        const p = Tree.paths(t)
        expect(p.length).toBe(Tree.leaves(t).length)
        expect(new Set(p).size).toBe(p.length)
      }),
      { numRuns: 40 }
    ))
})

describe("partition / combine", () => {
  it("partition by a predicate and combine back gives the original tree", () =>
    fc.assert(
      fc.property(treeArb, (t) => {
        const isArray = (l: Tree.Leaf) => typeof l !== "number"
        const [arrays, rest] = Tree.partition(t, isArray)
        expect(Tree.leaves(arrays).every((l) => typeof l !== "number")).toBe(true)
        expect(Tree.leaves(rest).every((l) => typeof l === "number")).toBe(true)
        expect(Tree.leaves(arrays).length + Tree.leaves(rest).length).toBe(Tree.leaves(t).length)
        const back = Tree.combine(arrays, rest)
        sameLeaves(Tree.leaves(back), Tree.leaves(t))
      }),
      { numRuns: 50 }
    ))

  it("trainable float arrays vs int32 buffers", () => {
    const params = { w: NdArray.ones([2]), step: NdArray.zeros([], { dtype: "int32" }) }
    const [trainable, frozen] = Tree.partition(params, (l) => typeof l !== "number" && l.dtype === "float32")
    expect(trainable.w).toBe(params.w)
    expect(trainable.step).toBeNull()
    expect(frozen.step).toBe(params.step)
    expect(Tree.combine(trainable, frozen)).toEqual(params)
  })
})
