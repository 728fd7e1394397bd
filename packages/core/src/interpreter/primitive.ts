/**
 * A primitive is a value that carries all of its rules:
 *
 * - `abstractEval`: output shapes and dtypes from input ones; it validates
 *   shapes, dtypes and axes and throws typed errors before any kernel runs;
 * - `impl`: the forward kernel on concrete arrays;
 * - `jvp`: forward-mode rule (tangents may be `null`, meaning zero);
 * - `transpose`: for primitives linear in some inputs, the adjoint map used
 *   by reverse mode (`vjp = linearize + transpose`);
 * - `batch`: the `vmap` rule.
 *
 * Transforms never branch on a particular primitive. The batching rule
 * shapes that many primitives share live in `primitives/batching.ts`.
 */
import type { DType, ShapedArray } from "./aval.js"
import { ArrayValue, type NdArray } from "./ndarray.js"

/** A linear input whose value is not known: the slot a cotangent flows into. */
export class UndefPrimal {
  readonly _undef = true
  constructor(readonly aval: ShapedArray) {}
}

export const isUndef = (x: unknown): x is UndefPrimal => x instanceof UndefPrimal

/** A tangent or cotangent; `null` is a symbolic zero. */
export type Tangent = NdArray | null

export type BatchDim = number | null

export interface Primitive<P> {
  readonly name: string
  readonly abstractEval: (avals: ReadonlyArray<ShapedArray>, params: P) => Array<ShapedArray>
  readonly impl: (args: ReadonlyArray<ArrayValue>, params: P) => Array<ArrayValue>
  readonly jvp: (primals: ReadonlyArray<NdArray>, tangents: ReadonlyArray<Tangent>, params: P) => [Array<NdArray>, Array<Tangent>]
  readonly batch: (
    args: ReadonlyArray<NdArray>,
    dims: ReadonlyArray<BatchDim>,
    params: P,
    prim: Primitive<P>
  ) => [Array<NdArray>, Array<BatchDim>]
  readonly linear: boolean
  readonly transpose?: (cts: ReadonlyArray<Tangent>, args: ReadonlyArray<NdArray | UndefPrimal>, params: P) => Array<Tangent>
  /** Renders params in Jaxpr printouts. */
  readonly showParams?: (params: P) => string
  /**
   * The kernel alone, given output avals already known (a compiled program
   * checked them when it was traced); `impl` is `abstractEval` + `kernel`.
   */
  /**
   * For elementwise primitives: the per-element expression over `$0`, `$1`, …
   * (inputs of one shape) and whether its value is already 0/1, so that `jit`
   * can fuse chains of them into one loop.
   */
  readonly fusion?: (inDtypes: ReadonlyArray<DType>, outDtype: DType, params: P) => { readonly expr: string; readonly bool: boolean }
  /**
   * For elementwise primitives with `fusion`: the op's name for the
   * WebAssembly SIMD emitter (backend/wasm/fused.ts), which runs fused
   * chains as vector loops when every op has an exact SIMD form; undefined
   * when it has none.
   */
  readonly simd?: (inDtypes: ReadonlyArray<DType>, outDtype: DType, params: P) => string | undefined
  readonly kernel?: (args: ReadonlyArray<ArrayValue>, params: P, outAvals: ReadonlyArray<ShapedArray>) => Array<ArrayValue>
}

export interface PrimitiveSpec<P> extends Omit<Primitive<P>, "impl" | "linear" | "kernel"> {
  /** The kernel; `outAvals` is what `abstractEval` returned for these inputs. */
  readonly impl: (args: ReadonlyArray<ArrayValue>, params: P, outAvals: ReadonlyArray<ShapedArray>) => Array<ArrayValue>
  readonly linear?: boolean
}

/** Build a primitive; its `impl` always runs `abstractEval` first, so bad input fails before a kernel runs. */
export function definePrimitive<P>(spec: PrimitiveSpec<P>): Primitive<P> {
  const { impl, abstractEval } = spec
  return {
    ...spec,
    linear: spec.linear ?? false,
    kernel: impl,
    impl: (args, params) => {
      const avals: Array<ShapedArray> = new Array(args.length)
      for (let i = 0; i < args.length; i++) avals[i] = args[i].aval
      return impl(args, params, abstractEval(avals, params))
    }
  }
}

export { ArrayValue }
