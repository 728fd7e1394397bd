/**
 * A gradient checker in the spirit of `jax.test_util.check_grads` and
 * `torch.autograd.gradcheck`: forward mode (JVPs) and reverse mode (VJPs)
 * are compared with central differences in float64 along random directions,
 * one argument at a time, and recursively up to second order (the
 * derivative maps are themselves checked).
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import { isFloat, optionsObject } from "./interpreter/aval.js"
import { ArrayValue, type NdArray, SCALAR_SHAPE } from "./interpreter/ndarray.js"
import * as Random from "./Random.js"
import { convert } from "./primitives/elementwise.js"
import { flattenArrays } from "./transforms/args.js"
import { jvp, vjp } from "./transforms/api.js"
import * as Tree from "./Tree.js"

/**
 * A gradient check failed; the message names the mode, the order, the
 * argument (and leaf paths), the direction, and the expected and actual values.
 *
 * @category errors
 * @since 0.1.0
 */
export class GradCheckError extends Data.TaggedError("GradCheckError")<{
  readonly mode: "fwd" | "rev"
  readonly order: number
  readonly argument: number
  readonly leaves: ReadonlyArray<string>
  readonly direction: string
  readonly expected: string
  readonly actual: string
  readonly error: number
}> {
  override get message(): string {
    return [
      `checkGrads: ${this.mode === "fwd" ? "JVP" : "VJP"} (order ${this.order}) disagrees with central differences for argument ${this.argument}${this.leaves.length ? ` (leaves ${this.leaves.join(", ")})` : ""}`,
      `  direction: ${this.direction}`,
      `  expected (numerical): ${this.expected}`,
      `  actual (${this.mode === "fwd" ? "jvp" : "vjp"}):      ${this.actual}`,
      `  max abs error beyond tolerance: ${this.error.toExponential(3)}`
    ].join("\n")
  }
}

export interface CheckGradsOptions {
  /** 1: first derivatives; 2: also the derivatives of the derivative maps. Default 1. */
  readonly order?: 1 | 2
  /** Default both. */
  readonly modes?: ReadonlyArray<"fwd" | "rev">
  /** Central-difference step (default 1e-6 in float64). */
  readonly eps?: number
  readonly atol?: number
  readonly rtol?: number
  /** Seed of the random directions (default 0). */
  readonly seed?: number
}

type Fn = (...args: Array<any>) => unknown

const toFloat64 = (tree: unknown): unknown =>
  Tree.map(tree, (leaf: NdArray | number) => {
    const x = typeof leaf === "number" ? ArrayValue.fromBuffer(Float64Array.of(leaf), "float64", SCALAR_SHAPE) : leaf
    return isFloat(x.dtype) ? convert(x, "float64") : x
  })

const values = (tree: unknown): Array<Float64Array> => flattenArrays(tree)[0].map((x) => Float64Array.from(x.data() as ArrayLike<number>))

const show = (xs: ReadonlyArray<Float64Array>): string => {
  const all = xs.flatMap((x) => Array.from(x))
  const shown = all.slice(0, 8).map((v) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(4) : v.toFixed(6)))
  return `[${shown.join(", ")}${all.length > 8 ? `, … (${all.length} values)` : ""}]`
}

/** A random direction shaped like `tree` (float leaves only; others zero). */
const direction = (tree: unknown, key: Random.Key): unknown => {
  const [leaves, def] = flattenArrays(tree)
  const keys = Random.split(key, Math.max(leaves.length, 1))
  return Tree.unflatten(
    def,
    leaves.map((x, i) => (isFloat(x.dtype) ? Random.normal(keys[i], x.shape, { dtype: "float64" }) : ArrayValue.fromBuffer(new Float64Array(x.size), "float64", x.shape)))
  )
}

const axpy = (tree: unknown, dir: unknown, scale: number): unknown =>
  Tree.map(tree, (x: NdArray, d: NdArray) => {
    if (!isFloat(x.dtype)) return x
    const a = Float64Array.from(x.data() as ArrayLike<number>)
    const b = d.data() as Float64Array
    for (let i = 0; i < a.length; i++) a[i] += scale * b[i]
    return ArrayValue.fromBuffer(a, "float64", x.shape)
  }, dir)

const excess = (expected: ReadonlyArray<Float64Array>, actual: ReadonlyArray<Float64Array>, atol: number, rtol: number): number => {
  let worst = 0
  expected.forEach((e, i) => {
    const a = actual[i]
    for (let j = 0; j < e.length; j++) {
      const err = Math.abs(e[j] - a[j]) - (atol + rtol * Math.abs(e[j]))
      if (!(err <= 0)) worst = Math.max(worst, Number.isNaN(err) ? Infinity : err)
    }
  })
  return worst
}

const dotTrees = (a: unknown, b: unknown): number => {
  const xs = values(a)
  const ys = values(b)
  let s = 0
  xs.forEach((x, i) => {
    for (let j = 0; j < x.length; j++) s += x[j] * ys[i][j]
  })
  return s
}

const checkOnce = (f: Fn, args: Array<unknown>, order: number, options: Required<Omit<CheckGradsOptions, "order">>, key: Random.Key): void => {
  const { eps, atol, rtol, modes } = options
  const argKeys = Random.split(key, Math.max(args.length, 1))
  args.forEach((arg, argIndex) => {
    const [leaves] = flattenArrays(arg)
    if (!leaves.some((x) => isFloat(x.dtype))) return
    const paths = Tree.paths(arg)
    const [kDir, kCt, kNext] = Random.split(argKeys[argIndex], 3)
    const dir = direction(arg, kDir)
    const at = (scale: number) => f(...args.map((a, i) => (i === argIndex ? axpy(a, dir, scale) : a)))
    const plus = values(at(eps))
    const minus = values(at(-eps))
    const numeric = plus.map((p, i) => p.map((v, j) => (v - minus[i][j]) / (2 * eps)))
    const zeroTangents = args.map((a, i) => (i === argIndex ? dir : Tree.map(a, (x: NdArray) => ArrayValue.fromBuffer(new Float64Array(x.size), "float64", x.shape))))
    const report = (mode: "fwd" | "rev", expected: string, actual: string, error: number) =>
      new GradCheckError({ mode, order, argument: argIndex, leaves: paths.filter((p) => p !== ""), direction: show(values(dir)), expected, actual, error })
    if (modes.includes("fwd")) {
      const [, tOut] = jvp(f, args, zeroTangents as any)
      const actual = values(tOut)
      const err = excess(numeric, actual, atol, rtol)
      if (err > 0) throw report("fwd", show(numeric), show(actual), err)
    }
    if (modes.includes("rev")) {
      const [out, back] = vjp(f, ...args)
      const ct = direction(out, kCt)
      const cts = back(ct) as Array<unknown>
      const expected = dotTrees(ct, Tree.unflatten(flattenArrays(out)[1], numeric.map((v, i) => ArrayValue.fromBuffer(v, "float64", flattenArrays(out)[0][i].shape))))
      const actual = dotTrees(cts[argIndex], dir)
      const err = Math.abs(expected - actual) - (atol + rtol * Math.abs(expected))
      if (!(err <= 0)) throw report("rev", `⟨ct, J·v⟩ = ${expected}`, `⟨Jᵀ·ct, v⟩ = ${actual}`, Number.isNaN(err) ? Infinity : err)
    }
    if (order > 1) {
      // the derivative maps must themselves have correct derivatives
      if (modes.includes("fwd")) {
        checkOnce((...xs: Array<unknown>) => jvp(f, xs, zeroTangents as any)[1], args, order - 1, options, Random.foldIn(kNext, 1))
      }
      if (modes.includes("rev")) {
        const out = f(...args)
        const ct = direction(out, kCt)
        checkOnce((...xs: Array<unknown>) => (vjp(f, ...xs)[1](ct) as Array<unknown>)[argIndex], args, order - 1, options, Random.foldIn(kNext, 2))
      }
    }
  })
}

/**
 * Check `f`'s derivatives at `args` (a list of positional arguments, each a
 * pytree) against central differences in float64; float leaves are cast to
 * float64 first. Throws a `GradCheckError` describing the first mismatch.
 *
 * @example
 * checkGrads((x: NdArray) => NdArray.sum(NdArray.tanh(x)), [NdArray.array([0.1, -2, 3], { dtype: "float64" })], { order: 2 })
 * @category testing
 * @since 0.1.0
 */
export const checkGrads = (f: Fn, args: ReadonlyArray<unknown>, opts?: CheckGradsOptions): void => {
  const options = optionsObject("checkGrads", opts, `checkGrads(f, [x], { modes: ["rev"] })`)
  const full = {
    modes: options.modes ?? ["fwd", "rev"],
    eps: options.eps ?? 1e-6,
    atol: options.atol ?? 1e-5,
    rtol: options.rtol ?? 1e-4,
    seed: options.seed ?? 0
  }
  checkOnce(f, args.map(toFloat64), options.order ?? 1, full, Random.key(full.seed))
}
