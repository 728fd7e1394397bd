/**
 * @gradfx/core: immutable n-d arrays, composable transforms (grad, vjp, jvp,
 * vmap, Jacobians, Hessians), pytrees, explicit PRNG keys and a gradient
 * checker.
 *
 * @since 0.1.0
 */
import * as NdArrayOps from "./NdArray.js"
import type { NdArray as NdArrayType } from "./interpreter/ndarray.js"

/** The array API (`NdArray.add`, `NdArray.matmul`, …). */
export const NdArray = NdArrayOps
/** An n-dimensional array (concrete, or traced inside a transform). */
export type NdArray = NdArrayType

export type { ArrayLike, DType, NestedArray, ReduceOptions, SliceSpec } from "./NdArray.js"
export * as Tree from "./Tree.js"
export type { Grads } from "./Tree.js"
export * as Random from "./Random.js"
export * as Linalg from "./Linalg.js"
export * as Safetensors from "./Safetensors.js"
export { AxisError, DTypeError, ShapeError, TransformError, ValueError } from "./Errors.js"
export {
  grad,
  hessian,
  jacfwd,
  jacrev,
  jvp,
  linearize,
  makeJaxpr,
  valueAndGrad,
  vjp,
  vmap,
  type AxisSpec,
  type GradOptions,
  type VmapOptions
} from "./transforms/api.js"
export { customJvp, customVjp } from "./transforms/custom.js"
export { jit, type JitOptions } from "./transforms/jit.js"
export { isTraced, pureCallback } from "./transforms/callback.js"
export { checkGrads, GradCheckError, type CheckGradsOptions } from "./checkGrads.js"
export { stopGradient } from "./NdArray.js"
export { backendName, setBackend, setThreads, type BackendName } from "./backend/index.js"
export type { ShapedArray } from "./interpreter/aval.js"
/** Checks an options argument: a number, string or array in its place (`sgd(0.1, 0.9)`) is a ValueError naming the fix (for libraries built on gradfx). */
export { optionsObject } from "./interpreter/aval.js"
export type { Key } from "./Random.js"
