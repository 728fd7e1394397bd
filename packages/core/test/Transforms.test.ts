/**
 * The transform API on its own: jvp / vjp / linearize agree; grad and
 * valueAndGrad with argnums lists and hasAux; pytrees of parameters give
 * gradients of the same structure; vmap in/out axes (null, pytree-shaped,
 * negative); zero tangents of integer/bool outputs; stopGradient; Jaxpr
 * snapshots; and the typed errors for misuse of the transforms.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as NdArray from "../src/NdArray.js"
import { evalJaxpr } from "../src/interpreter/jaxpr.js"
import * as Tree from "../src/Tree.js"
import { grad, hessian, jacfwd, jacrev, jvp, linearize, makeJaxpr, valueAndGrad, vjp, vmap } from "../src/transforms/api.js"

type NdArray = ReturnType<typeof NdArray.zeros>

const numRuns = 20
const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)
const f64 = (x: NdArray.NestedArray) => NdArray.array(x, { dtype: "float64" })
const flat = (x: NdArray) => Array.from(x.data(), Number)
const inner = (a: NdArray, b: NdArray) => flat(a).reduce((s, v, i) => s + v * flat(b)[i], 0)

const expectClose = (got: NdArray, want: NdArray | ReadonlyArray<number>, tol = 1e-10) => {
  const w = Array.isArray(want) ? want : flat(want as NdArray)
  if (!Array.isArray(want)) expect(got.shape).toEqual((want as NdArray).shape)
  const g = flat(got)
  expect(g.length).toBe(w.length)
  g.forEach((v, i) => {
    if (!(Math.abs(v - w[i]) <= tol * (1 + Math.abs(w[i])))) expect.fail(`element ${i}: got ${v}, expected ${w[i]}`)
  })
}

/** Float64 arrays with values on a 1e-4 grid in [min, max] (no denormals, whose products underflow in any implementation). */
const arrayArb = (shape: ReadonlyArray<number>, min = -2, max = 2) =>
  fc
    .array(fc.integer({ min: min * 1e4, max: max * 1e4 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((v) => NdArray.array(new Float64Array(v.map((k) => k / 1e4)), { shape }))

/** A smooth function of a parameter record and an input, with a non-scalar output. */
type Params = { w: NdArray; b: NdArray; scale: [NdArray, { inner: NdArray }] }
const model = (p: Params, x: NdArray): NdArray => {
  const h = NdArray.tanh(NdArray.add(NdArray.matmul(x, p.w), p.b))
  return NdArray.mul(NdArray.sin(NdArray.mul(h, p.scale[0])), NdArray.exp(NdArray.mul(p.scale[1].inner, 0.1)))
}
const paramsArb = fc
  .tuple(arrayArb([3, 2]), arrayArb([2]), arrayArb([]), arrayArb([2]))
  .map(([w, b, s, i]): Params => ({ w, b, scale: [s, { inner: i }] }))

describe("jvp, vjp and linearize agree", () => {
  it("⟨ct, jvp(f)(t)⟩ = ⟨vjp(f)(ct), t⟩ on pytrees; linearize's map equals jvp; primal outputs equal f", () =>
    fc.assert(
      fc.property(paramsArb, paramsArb, arrayArb([4, 3]), arrayArb([4, 2]), (p, t, x, ct) => {
        const f = (q: Params) => model(q, x)
        const y = f(p)
        const [y1, yDot] = jvp(f, [p], [t])
        const [y2, back] = vjp(f, p)
        const [y3, fLin] = linearize(f, p)
        expectClose(y1, y, 0)
        expectClose(y2, y, 0)
        expectClose(y3, y, 0)
        expectClose(fLin(t), yDot, 1e-12)
        const [pBar] = back(ct)
        expect(Tree.sameStructure(Tree.structure(pBar), Tree.structure(p))).toBe(true)
        const rhs = Tree.leaves(pBar).reduce((s: number, g, i) => s + inner(g as NdArray, Tree.leaves(t)[i] as NdArray), 0)
        expect(Math.abs(inner(ct, yDot) - rhs)).toBeLessThan(1e-10 * (1 + Math.abs(rhs)))
      }),
      { numRuns }
    ))

  it("jvp is linear in the tangent; linearize can be called many times", () => {
    const x = f64([0.3, -1.2, 2])
    const [, fLin] = linearize((v: NdArray) => NdArray.mul(NdArray.exp(v), NdArray.sin(v)), x)
    const a = f64([1, 0, 2])
    const b = f64([0.5, -1, 1])
    expectClose(fLin(NdArray.add(a, NdArray.mul(b, 3))), NdArray.add(fLin(a), NdArray.mul(fLin(b), 3)), 1e-12)
    // d(eˣ sin x) = eˣ (sin x + cos x)
    expectClose(fLin(NdArray.onesLike(x)), NdArray.mul(NdArray.exp(x), NdArray.add(NdArray.sin(x), NdArray.cos(x))), 1e-12)
  })

  it("jvp and vjp of several arguments and several outputs", () => {
    const f = (a: NdArray, b: NdArray) => [NdArray.mul(a, b), NdArray.sum(NdArray.sub(a, b))] as const
    const a = f64([1, 2])
    const b = f64([3, 5])
    const [[p, s], [pDot, sDot]] = jvp(f, [a, b], [f64([1, 0]), f64([0, 1])])
    expect(p.toArray()).toEqual([3, 10])
    expect(s.item()).toBe(-5)
    expect(pDot.toArray()).toEqual([3, 2]) // b·da + a·db
    expect(sDot.item()).toBe(0)
    const [, back] = vjp(f, a, b)
    const [aBar, bBar] = back([f64([1, 1]), f64(2)])
    expect(aBar.toArray()).toEqual([5, 7]) // b + 2
    expect(bBar.toArray()).toEqual([-1, 0]) // a − 2
  })
})

describe("grad and valueAndGrad", () => {
  it("gradients of a pytree of params (records, tuples, nested) have the params' structure and match vjp", () =>
    fc.assert(
      fc.property(paramsArb, arrayArb([4, 3]), (p, x) => {
        const loss = (q: Params, v: NdArray) => NdArray.sum(NdArray.square(model(q, v)))
        const g = grad(loss)(p, x)
        expect(Tree.sameStructure(Tree.structure(g), Tree.structure(p))).toBe(true)
        expect(Array.isArray(g.scale)).toBe(true)
        Tree.leaves(g).forEach((l, i) => {
          expect((l as NdArray).shape).toEqual((Tree.leaves(p)[i] as NdArray).shape)
          expect((l as NdArray).dtype).toBe("float64")
        })
        const [, back] = vjp((q: Params) => loss(q, x), p)
        const [viaVjp] = back(NdArray.scalar(1, { dtype: "float64" }))
        Tree.leaves(g).forEach((l, i) => expectClose(l as NdArray, Tree.leaves(viaVjp)[i] as NdArray, 1e-12))
      }),
      { numRuns }
    ))

  it("argnums as a number or a list; negative argnums", () => {
    const f = (a: NdArray, b: NdArray, c: NdArray) => NdArray.sum(NdArray.mul(NdArray.mul(a, b), NdArray.square(c)))
    const [a, b, c] = [f64([1, 2]), f64([3, 4]), f64([5, 6])]
    expect(grad(f, { argnums: 1 })(a, b, c).toArray()).toEqual([25, 72]) // a c²
    const [ga, gc] = grad(f, { argnums: [0, 2] })(a, b, c)
    expect(ga.toArray()).toEqual([75, 144]) // b c²
    expect(gc.toArray()).toEqual([30, 96]) // 2abc
    expect(grad(f, { argnums: -1 })(a, b, c).toArray()).toEqual([30, 96])
    const [value, [gb]] = valueAndGrad(f, { argnums: [1] })(a, b, c)
    expect(value.item()).toBe(75 + 288)
    expect(gb.toArray()).toEqual([25, 72])
  })

  it("hasAux: aux passes through undifferentiated, with valueAndGrad and grad", () => {
    const f = (w: NdArray, x: NdArray) => {
      const y = NdArray.mul(w, x)
      return [NdArray.sum(NdArray.square(y)), { y, n: NdArray.argmax(y) }] as const
    }
    const w = f64([1, -2, 3])
    const x = f64([2, 2, 2])
    const [[loss, aux], g] = valueAndGrad(f, { hasAux: true })(w, x)
    expect(loss.item()).toBe(4 + 16 + 36)
    expect(aux.y.toArray()).toEqual([2, -4, 6])
    expect(aux.n.item()).toBe(2)
    expect(g.toArray()).toEqual([8, -16, 24]) // 2 w x²
    const [g2, aux2] = grad(f, { hasAux: true })(w, x)
    expect(g2.toArray()).toEqual(g.toArray())
    expect(aux2.y.toArray()).toEqual([2, -4, 6])
  })

  it("hasAux together with an argnums list", () => {
    const f = (a: NdArray, b: NdArray, c: NdArray) => [NdArray.sum(NdArray.mul(NdArray.mul(a, b), c)), { c }] as const
    const [a, b, c] = [f64([1, 2]), f64([3, 4]), f64([5, 6])]
    const [[value, aux], [ga, gc]] = valueAndGrad(f, { argnums: [0, 2], hasAux: true })(a, b, c)
    expect(value.item()).toBe(15 + 48)
    expect(aux.c).toBe(c)
    expect(ga.toArray()).toEqual([15, 24])
    expect(gc.toArray()).toEqual([3, 8])
  })

  it("a JavaScript number argument is a float32 scalar; its gradient is an array", () => {
    const g = grad((x: number) => NdArray.mul(x, x))(3)
    expect(g.shape).toEqual([])
    expect(g.item()).toBe(6)
  })

  it("float32 parameters give float32 gradients", () => {
    const g = grad((x: NdArray) => NdArray.sum(NdArray.exp(x)))(NdArray.array([0, 1]))
    expect(g.dtype).toBe("float32")
    expectClose(g, [1, Math.E], 1e-6)
  })
})

describe("numerical edge cases of derivatives", () => {
  it("grad of prod with zeros: the product of the others, without dividing by zero", () => {
    expect(grad((x: NdArray) => NdArray.prod(x))(f64([0, 2, 3])).toArray()).toEqual([6, 0, 0])
    expect(grad((x: NdArray) => NdArray.prod(x))(f64([0, 0, 3])).toArray()).toEqual([0, 0, 0])
  })

  it("second derivatives of prod with a zero, and per-row gradients over one axis", () => {
    // ∂²Πx/∂xᵢ∂xⱼ = Πₖ≠ᵢ,ⱼ xₖ off the diagonal, 0 on it
    expect(hessian((x: NdArray) => NdArray.prod(x))(f64([0, 2, 3])).toArray()).toEqual([
      [0, 3, 2],
      [3, 0, 0],
      [2, 0, 0]
    ])
    const rows = f64([
      [2, 0, 5],
      [1, 4, 0.5]
    ])
    expect(grad((x: NdArray) => NdArray.sum(NdArray.prod(x, { axis: 1 })))(rows).toArray()).toEqual([
      [0, 10, 0],
      [2, 0.5, 4]
    ])
    expect(vmap(grad((x: NdArray) => NdArray.prod(x)))(rows).toArray()).toEqual([
      [0, 10, 0],
      [2, 0.5, 4]
    ])
  })

  // reduce_prod's JVP is a product rule over a tree of pairwise products (as in JAX): it never
  // divides by the full product, which underflows to 0 here while the products of the others do not.
  it("grad of prod when the full product underflows but the product of the others does not", () => {
    const g = grad((x: NdArray) => NdArray.prod(x))(f64([1e-200, 1e-200, 1e-10]))
    const [g0, g1, g2] = g.toArray() as Array<number>
    expect(Math.abs(g0 / 1e-210 - 1)).toBeLessThan(1e-12)
    expect(Math.abs(g1 / 1e-210 - 1)).toBeLessThan(1e-12)
    expect(g2).toBe(0)
  })
})

describe("zero tangents and stopGradient", () => {
  it("integer and bool outputs carry zero tangents (of their own dtype)", () => {
    const x = f64([[1, 5], [3, 2]])
    const [idx, idxDot] = jvp((a: NdArray) => NdArray.argmax(a, { axis: 1 }), [x], [NdArray.onesLike(x)])
    expect(idx.toArray()).toEqual([1, 0])
    expect(idxDot.dtype).toBe("int32")
    expect(idxDot.toArray()).toEqual([0, 0])
    const [, cmpDot] = jvp((a: NdArray) => NdArray.greater(a, 2), [x], [NdArray.onesLike(x)])
    expect(cmpDot.dtype).toBe("bool")
    expect(NdArray.any(cmpDot).toArray()).toBe(false)
    const [, castDot] = jvp((a: NdArray) => NdArray.astype(NdArray.mul(a, 3), "int32"), [x], [NdArray.onesLike(x)])
    expect(castDot.toArray()).toEqual([
      [0, 0],
      [0, 0]
    ])
  })

  it("an integer value used in a float computation contributes no gradient", () => {
    // d/dx [x · argmax(x)] = argmax(x), treating the index as a constant
    const g = grad((x: NdArray) => NdArray.sum(NdArray.mul(x, NdArray.argmax(x))))(f64([1, 5, 3]))
    expect(g.toArray()).toEqual([1, 1, 1])
  })

  it("stopGradient: the value flows, the derivative does not", () => {
    const f = (x: NdArray) => NdArray.sum(NdArray.mul(x, NdArray.stopGradient(x)))
    const x = f64([1, -2, 3])
    expect(grad(f)(x).toArray()).toEqual([1, -2, 3]) // not 2x
    const [, t] = jvp((v: NdArray) => NdArray.stopGradient(NdArray.exp(v)), [x], [NdArray.onesLike(x)])
    expect(t.toArray()).toEqual([0, 0, 0])
    expect(grad(grad((v: NdArray) => NdArray.mul(NdArray.stopGradient(v), NdArray.square(v))))(f64(2)).item()).toBe(4) // d²/dv² (c v²) = 2c, c = 2
  })
})

describe("vmap axes", () => {
  const loop = (f: (...xs: Array<NdArray>) => NdArray, xs: ReadonlyArray<NdArray | null>, axes: ReadonlyArray<number | null>, fixed: ReadonlyArray<NdArray>, n: number) =>
    Array.from({ length: n }, (_, b) => f(...xs.map((x, i) => (axes[i] === null ? fixed[i] : NdArray.take(x!, [b], { axis: axes[i]! }).pipe(NdArray.squeeze(axes[i]!))))))

  it("inAxes per argument, null for unbatched ones, negative axes; outAxes moves the batch axis", () =>
    fc.assert(
      fc.property(arrayArb([3, 4, 2]), arrayArb([2, 4]), fc.integer({ min: -2, max: 1 }), (x, w, out) => {
        // x batched along axis 1 (size 4) given as -2, w unbatched
        const f = (a: NdArray, m: NdArray) => NdArray.matmul(a, m) // [3, 2] @ [2, 4] → [3, 4]
        const got = vmap(f, { inAxes: [-2, null], outAxes: out })(x, w)
        const per = loop(f, [x, null], [1, null], [x, w], 4)
        const o = out < 0 ? out + 3 : out
        expectClose(got, NdArray.stack(per, o), 1e-12)
      }),
      { numRuns }
    ))

  it("pytree-shaped inAxes and outAxes", () => {
    const params = { w: f64([[1, 2], [3, 4], [5, 6]]), b: f64([10, 20]) } // w batched along axis 0 (size 3), b shared
    const xs = f64([[1, 1], [2, 0], [0, 3]]) // axis 0
    const f = (p: { w: NdArray; b: NdArray }, x: NdArray) => ({ dot: NdArray.add(NdArray.sum(NdArray.mul(p.w, x)), p.b), same: p.b })
    const out = vmap(f, { inAxes: [{ w: 0, b: null }, 0], outAxes: { dot: 1, same: null } })(params, xs)
    expect(out.dot.shape).toEqual([2, 3])
    expect(out.dot.toArray()).toEqual([
      [13, 16, 28],
      [23, 26, 38]
    ])
    expect(out.same.toArray()).toEqual([10, 20])
  })

  it("an unmapped output is broadcast along the batch axis; a single inAxes number applies to all arguments", () => {
    const out = vmap((a: NdArray, _b: NdArray) => NdArray.ones([2]))(f64([1, 2, 3]), f64([4, 5, 6]))
    expect(out.shape).toEqual([3, 2])
    expect(vmap((a: NdArray, b: NdArray) => NdArray.mul(a, b), { inAxes: 1 })(f64([[1, 2]]), f64([[3, 4]])).toArray()).toEqual([[3], [8]])
  })

  it("nested vmap maps two axes (an outer product)", () => {
    const u = f64([1, 2, 3])
    const v = f64([10, 20])
    const outer = vmap((a: NdArray) => vmap((b: NdArray) => NdArray.mul(a, b))(v))(u)
    expect(outer.toArray()).toEqual(NdArray.outer(u, v).toArray())
  })
})

describe("Jaxpr snapshots", () => {
  it("grad of matmul transposes to matmuls (with transposed operands)", () => {
    const f = (x: NdArray, w: NdArray) => NdArray.sum(NdArray.matmul(x, w))
    const jaxpr = makeJaxpr(grad(f, { argnums: [0, 1] }))(NdArray.ones([2, 2]), NdArray.ones([2, 3]))
    expect(jaxpr.toString()).toMatchInlineSnapshot(`
      "{ lambda a:f32[2,3] b:f32[2,3] ; c:f32[2,2] d:f32[2,3]. let
          e:f32[3,2] = transpose[perm=[1,0]] d
          f:f32[2,2] = matmul a e
          g:f32[2,2] = transpose[perm=[1,0]] c
          h:f32[2,3] = matmul g b
        in ( f h ) }"
    `)
  })

  it("the forward program of a small function (the broadcast constant is computed once, eagerly)", () => {
    const jaxpr = makeJaxpr((x: NdArray) => NdArray.sum(NdArray.tanh(NdArray.mul(x, 2)), { axis: 0 }))(NdArray.ones([3, 2]))
    expect(jaxpr.toString()).toMatchInlineSnapshot(`
      "{ lambda a:f32[3,2] ; b:f32[3,2]. let
          c:f32[3,2] = mul b a
          d:f32[3,2] = tanh c
          e:f32[2] = reduce_sum[axes=[0]] d
        in ( e ) }"
    `)
  })

  it("a Jaxpr computes every output, including ones that do not depend on the inputs", () => {
    const x = f64([[1, 2], [3, 4]])
    const f = (w: NdArray) => NdArray.sum(NdArray.matmul(x, w)) // the gradient xᵀ·1 does not depend on w
    const w = NdArray.ones([2, 3], { dtype: "float64" })
    const { jaxpr, consts } = makeJaxpr(grad(f))(w)
    expect(jaxpr.outs.length).toBe(1)
    const [g] = evalJaxpr(jaxpr, consts, [w])
    expect(g.toArray()).toEqual(grad(f)(w).toArray())
  })

  it("evaluating the Jaxpr reproduces the function", () =>
    fc.assert(
      fc.property(paramsArb, arrayArb([4, 3]), (p, x) => {
        const loss = (q: Params) => NdArray.sum(NdArray.square(model(q, x)))
        const { jaxpr, consts } = makeJaxpr(grad(loss))(p)
        const outs = evalJaxpr(jaxpr, consts, Tree.leaves(p) as Array<NdArray>)
        const expected = Tree.leaves(grad(loss)(p)) as Array<NdArray>
        outs.forEach((o, i) => expectClose(o, expected[i], 1e-12))
      }),
      { numRuns: 5 }
    ))
})

describe("misuse of the transforms is a typed error", () => {
  const catchError = (f: () => unknown): any => {
    try {
      f()
    } catch (e) {
      return e
    }
    return expect.fail("expected an error")
  }

  it("a tracer that escaped its transform and is used afterwards → TransformError", () => {
    let leaked: NdArray | undefined
    grad((x: NdArray) => {
      leaked = x
      return NdArray.sum(x)
    })(NdArray.ones([2]))
    const e = catchError(() => NdArray.add(leaked!, 1))
    expect(e._tag).toBe("TransformError")
    expect(e.message).toContain("escaped")
    let leakedV: NdArray | undefined
    vmap((x: NdArray) => {
      leakedV = x
      return x
    })(NdArray.ones([2, 3]))
    expect(catchError(() => NdArray.exp(leakedV!))._tag).toBe("TransformError")
  })

  it("reading a tracer's values inside a transform → TransformError", () => {
    expect(catchError(() => grad((x: NdArray) => NdArray.mul(x, x.item()))(f64(2)))._tag).toBe("TransformError")
    expect(catchError(() => vmap((x: NdArray) => NdArray.array(x.toArray() as number[]))(NdArray.ones([2, 2])))._tag).toBe("TransformError")
  })

  it("grad of a non-scalar output → TransformError naming the shape", () => {
    const e = catchError(() => grad((x: NdArray) => NdArray.mul(x, 2))(NdArray.ones([2, 3])))
    expect(e._tag).toBe("TransformError")
    expect(e.message).toContain("grad")
    expect(e.message).toContain("[2, 3]")
  })

  it("differentiating with respect to an int32 array → DTypeError naming the dtype", () => {
    const e = catchError(() => grad((x: NdArray) => NdArray.sum(x))(NdArray.ones([2], { dtype: "int32" })))
    expect(e._tag).toBe("DTypeError")
    expect(e.message).toContain("int32")
    expect(catchError(() => vjp((x: NdArray) => x, NdArray.ones([2], { dtype: "bool" })))._tag).toBe("DTypeError")
    // an int32 argument outside argnums is fine
    expect(grad((w: NdArray, i: NdArray) => NdArray.sum(NdArray.take(w, i)))(f64([1, 2, 3]), NdArray.array([2, 2], { dtype: "int32" })).toArray()).toEqual([0, 0, 2])
  })

  it("jvp with tangents of the wrong shape or structure → ShapeError / TransformError", () => {
    const e = catchError(() => jvp((x: NdArray) => x, [NdArray.ones([2])], [NdArray.ones([3])]))
    expect(e._tag).toBe("ShapeError")
    expect(e.message).toContain("[3]")
    expect(catchError(() => jvp((p: { a: NdArray }) => p.a, [{ a: NdArray.ones([2]) }], [{ b: NdArray.ones([2]) }]))._tag).toBe("TransformError")
    const [, back] = vjp((x: NdArray) => NdArray.mul(x, 2), NdArray.ones([2]))
    expect(catchError(() => back(NdArray.ones([3])))._tag).toBe("ShapeError")
  })

  it("vmap: batch sizes that disagree, an axis out of range, outAxes out of range, an inAxes list of the wrong length", () => {
    const add = (a: NdArray, b: NdArray) => NdArray.add(a, b)
    const e = catchError(() => vmap(add)(NdArray.ones([2]), NdArray.ones([3])))
    expect(e._tag).toBe("TransformError")
    expect(e.message).toMatch(/2.*3/)
    const a = catchError(() => vmap((x: NdArray) => x, { inAxes: 2 })(NdArray.ones([2])))
    expect(a._tag).toBe("AxisError")
    expect(a.message).toContain("vmap")
    expect(catchError(() => vmap((x: NdArray) => x, { outAxes: 3 })(NdArray.ones([2, 2])))._tag).toBe("TransformError")
    expect(catchError(() => vmap(add, { inAxes: [0] })(NdArray.ones([2]), NdArray.ones([2])))._tag).toBe("TransformError")
    expect(catchError(() => vmap(add, { inAxes: [null, null] })(NdArray.ones([2]), NdArray.ones([2])))._tag).toBe("TransformError")
  })

  it("hasAux without a pair, argnums out of range → TransformError", () => {
    expect(catchError(() => grad((x: NdArray) => NdArray.sum(x) as any, { hasAux: true })(NdArray.ones([2])))._tag).toBe("TransformError")
    expect(catchError(() => grad((x: NdArray) => NdArray.sum(x), { argnums: 1 })(NdArray.ones([2])))._tag).toBe("TransformError")
  })

  it("jacfwd / jacrev of an int32 argument → DTypeError", () => {
    expect(catchError(() => jacfwd((x: NdArray) => x)(NdArray.ones([2], { dtype: "int32" })))._tag).toBe("DTypeError")
    expect(catchError(() => jacrev((x: NdArray) => x)(NdArray.ones([2], { dtype: "int32" })))._tag).toBe("DTypeError")
  })
})
