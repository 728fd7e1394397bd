/**
 * `random`: a draw from the Threefry generator as a primitive, so that
 * random numbers can be taken inside `jit` and `vmap` (dropout in a jitted
 * training step, a batch of keys under `vmap`). The params carry the
 * concrete drawing function of `Random` for one key and the aval it
 * returns; the primitive applies it to a key of shape [2] or to each key of
 * a batch of keys [..., 2]. Draws do not depend differentiably on the key,
 * so the tangent is zero.
 */
import * as cpu from "../backend/cpu/index.js"
import { DTypeError, ShapeError } from "../Errors.js"
import { ShapedArray } from "../interpreter/aval.js"
import { ArrayValue, definePrimitive, type Primitive } from "../interpreter/primitive.js"
import { bind1 } from "../interpreter/trace.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { moveAxis } from "./batching.js"

export interface RandomParams {
  /** What is drawn (for printing), e.g. `uniform`. */
  readonly name: string
  /** The shape and dtype drawn from one key. */
  readonly out: ShapedArray
  /** Draw from one concrete key (int32 [2]). */
  readonly draw: (key: ArrayValue) => NdArray
}

export const RandomDraw: Primitive<RandomParams> = definePrimitive<RandomParams>({
  name: "random",
  abstractEval: ([k], p) => {
    if (k.dtype !== "int32") throw new DTypeError({ op: `Random.${p.name}`, dtypes: [k.dtype], hint: "a key is an int32 array of shape [2] (from Random.key)" })
    if (k.ndim < 1 || k.shape[k.ndim - 1] !== 2) throw new ShapeError({ op: `Random.${p.name}`, shapes: [k.shape], hint: "a key has shape [2] (a batch of keys [..., 2])" })
    return [new ShapedArray([...k.shape.slice(0, -1), ...p.out.shape], p.out.dtype)]
  },
  impl: ([k], p, [out]) => {
    if (k.ndim === 1) return [p.draw(k) as ArrayValue]
    const words = k.data()
    const count = words.length / 2
    const per = p.out.size
    const buffer = cpu.allocate(out.dtype, out.size)
    for (let b = 0; b < count; b++) {
      const drawn = p.draw(ArrayValue.fromBuffer(Int32Array.of(words[2 * b], words[2 * b + 1]), "int32", [2]))
      buffer.set(drawn.data() as never, b * per)
    }
    return [ArrayValue.fromBuffer(buffer, out.dtype, out.shape)]
  },
  jvp: ([k], _tangents, p) => [[bind1(RandomDraw, [k], p)], [null]],
  batch: ([k], [d], p) => [[bind1(RandomDraw, [moveAxis(k, d!, 0)], p)], [0]],
  showParams: (p) => `${p.name} ${p.out.toString()}`
})

/** Draw with `draw` from `key` (concrete, or traced under jit / vmap). */
export const randomDraw = (key: NdArray, p: RandomParams): NdArray => bind1(RandomDraw, [key], p)
