/**
 * The single list of primitives. A new primitive is one definition in its
 * module and one line here; the property tests iterate this list.
 */
import type { Primitive } from "../interpreter/primitive.js"
import { Col2im, Im2col } from "./conv.js"
import * as E from "./elementwise.js"
import { Gather, ScatterAdd } from "./gather.js"
import { Det, Solve } from "./linalg.js"
import { Matmul } from "./matmul.js"
import { MaxPool, PoolScatter, PoolSelect } from "./pool.js"
import { RandomDraw } from "./random.js"
import { ArgReduce, ReduceMax, ReduceMin, ReduceProd, ReduceSum } from "./reduce.js"
import { BroadcastTo, Concatenate, Pad, Reshape, Rev, Slice, Transpose } from "./shape.js"

export const allPrimitives: ReadonlyArray<Primitive<any>> = [
  E.Neg, E.Exp, E.Log, E.Log1p, E.Expm1, E.Sqrt, E.Sin, E.Cos, E.Tan, E.Atan, E.Tanh, E.Logistic, E.Erf, E.Abs, E.Sign,
  E.Floor, E.Ceil, E.Round, E.Not, E.IsNan, E.IsFinite,
  E.Add, E.Sub, E.Mul, E.Div, E.Pow, E.Max, E.Min, E.Atan2, E.Mod,
  E.Equal, E.NotEqual, E.Less, E.LessEqual, E.Greater, E.GreaterEqual, E.And, E.Or, E.Xor,
  E.Select, E.Convert, E.StopGradient,
  ReduceSum, ReduceMax, ReduceMin, ReduceProd, ArgReduce,
  Reshape, BroadcastTo, Transpose, Slice, Pad, Concatenate, Rev,
  Gather, ScatterAdd, Matmul, Im2col, Col2im, Solve, Det, RandomDraw,
  MaxPool, PoolSelect, PoolScatter
]

export * from "./conv.js"
export * from "./elementwise.js"
export * from "./gather.js"
export * from "./matmul.js"
export * from "./pool.js"
export * from "./random.js"
export * from "./reduce.js"
export * from "./shape.js"
