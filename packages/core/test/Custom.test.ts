import { describe, expect, it } from "vitest"
import { checkGrads, customJvp, customVjp, grad, jvp, NdArray as N, type NdArray, TransformError, vmap } from "@gradfx/core"

const f64 = (x: Parameters<typeof N.array>[0]) => N.array(x, { dtype: "float64" })

// log(1 + eˣ) overflows for large x; the custom rule keeps the gradient exact.
const softplus = customJvp(
  (x: NdArray) => N.add(N.maximum(x, 0), N.log1p(N.exp(N.neg(N.abs(x))))),
  ([x], [t]) => [[N.add(N.maximum(x, 0), N.log1p(N.exp(N.neg(N.abs(x)))))], [N.mul(t, N.sigmoid(x))]]
)

describe("customJvp", () => {
  it("uses the rule in forward and reverse mode", () => {
    const x = f64([-1000, -1, 0, 2, 1000])
    expect(grad((v: NdArray) => N.sum(softplus(v)))(x).toArray()).toEqual(N.sigmoid(x).toArray())
    const [, t] = jvp((v: NdArray) => softplus(v), [x], [N.onesLike(x)])
    expect(t.toArray()).toEqual(N.sigmoid(x).toArray())
  })

  it("keeps the rule under vmap, and second derivatives come from differentiating the rule", () => {
    const x = f64([-1, 0.5, 3])
    expect(vmap(grad((v: NdArray) => softplus(v)))(x).toArray()).toEqual(N.sigmoid(x).toArray())
    const second = vmap(grad(grad((v: NdArray) => softplus(v))))(x).toArray() as Array<number>
    const s = N.sigmoid(x).toArray() as Array<number>
    second.forEach((v, i) => expect(v).toBeCloseTo(s[i] * (1 - s[i]), 12))
    checkGrads((v: NdArray) => N.sum(softplus(v)), [x], { order: 2 })
  })

  it("the rule is what differentiation sees (a deliberately different rule)", () => {
    const f = customJvp(
      (x: NdArray) => N.mul(x, 3),
      ([x], [t]) => [[N.mul(x, 3)], [N.mul(t, 10)]]
    )
    expect(grad((v: NdArray) => N.sum(f(v)))(f64([1, 2])).toArray()).toEqual([10, 10])
  })
})

describe("customVjp", () => {
  const clipGradient = customVjp(
    (x: NdArray) => x,
    (x: NdArray) => [x, null] as const,
    (_res, ct: NdArray) => [N.clip(ct, -1, 1)]
  )

  it("bwd replaces the cotangent in reverse mode, also under vmap", () => {
    const loss = (x: NdArray) => N.sum(N.mul(clipGradient(x), 5))
    expect(grad(loss)(f64([1, 2])).toArray()).toEqual([1, 1])
    expect(vmap(grad(loss))(f64([[1, 2], [3, 4]])).toArray()).toEqual([[1, 1], [1, 1]])
    expect(grad((x: NdArray) => N.sum(N.mul(clipGradient(x), 0.5)))(f64([1])).toArray()).toEqual([0.5])
  })

  it("the rule survives grad(vmap(f)) and vmap(vmap(grad)), with unbatched inputs summed over the batch", () => {
    const loss = (x: NdArray) => N.sum(N.mul(clipGradient(x), 5))
    // per-example losses summed: the clipped cotangent 1 everywhere, not 5
    const batched = (xs: NdArray) => N.sum(vmap(loss)(xs))
    expect(grad(batched)(f64([[1, 2], [3, 4]])).toArray()).toEqual([[1, 1], [1, 1]])
    expect(vmap(vmap(grad(loss)))(f64([[[1], [2]], [[3], [4]]])).toArray()).toEqual([[[1], [1]], [[1], [1]]])
    // w · x with a custom rule that scales both cotangents; residuals with a number in them
    const scaled = customVjp(
      (w: NdArray, x: NdArray) => N.mul(w, x),
      (w: NdArray, x: NdArray) => [N.mul(w, x), { w, x, k: 10 }] as const,
      (r: { w: NdArray; x: NdArray; k: number }, ct: NdArray) => [N.mul(N.mul(ct, r.x), r.k), N.mul(N.mul(ct, r.w), r.k)]
    )
    const w = f64([2])
    const xs = f64([[1], [3], [5]])
    // w is shared by the batch: its cotangent is the sum over the examples, 10·(1 + 3 + 5)
    const perExample = (w: NdArray, xs: NdArray) => N.sum(vmap((x: NdArray) => scaled(w, x))(xs))
    expect(grad(perExample)(w, xs).toArray()).toEqual([90])
    expect(grad(perExample, { argnums: 1 })(w, xs).toArray()).toEqual([[20], [20], [20]])
    // and a batch axis that is not the first one
    const cols = vmap((x: NdArray) => scaled(w, x), { inAxes: 1 })
    expect(grad((xs: NdArray) => N.sum(cols(xs)))(f64([[1, 3, 5]])).toArray()).toEqual([[20, 20, 20]])
  })

  it("a bwd that returns null for an input gives it a zero cotangent under vmap too", () => {
    const first = customVjp(
      (a: NdArray, b: NdArray) => N.add(a, b),
      (a: NdArray, b: NdArray) => [N.add(a, b), null] as const,
      (_r: null, ct: NdArray) => [N.mul(ct, 3), null]
    )
    const f = (a: NdArray, b: NdArray) => N.sum(vmap(first)(a, b))
    expect(grad(f, { argnums: [0, 1] })(f64([1, 2]), f64([3, 4])).map((g) => g.toArray())).toEqual([[3, 3], [0, 0]])
  })

  it("uses residuals from fwd", () => {
    const square = customVjp(
      (x: NdArray) => N.mul(x, x),
      (x: NdArray) => [N.mul(x, x), x] as const,
      (x: NdArray, ct: NdArray) => [N.mul(N.mul(x, 2), ct)]
    )
    expect(grad((x: NdArray) => N.sum(square(x)))(f64([3, -1])).toArray()).toEqual([6, -2])
    expect(square(f64([3])).toArray()).toEqual([9])
  })

  it("forward mode is a clear error", () => {
    expect(() => jvp(clipGradient, [f64([1])], [f64([1])])).toThrow(TransformError)
  })
})
