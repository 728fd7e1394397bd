/**
 * Structural primitives: reshape, broadcastTo, transpose, slice, pad,
 * concatenate, rev. All are linear; reshape (of a contiguous array),
 * broadcastTo, transpose, slice and rev return views of their input's buffer
 * without copying.
 */
import * as cpu from "../backend/cpu/index.js"
import { ShapeError, ValueError, AxisError } from "../Errors.js"
import { broadcastShapes, sameShape, ShapedArray } from "../interpreter/aval.js"
import type { NdArray } from "../interpreter/ndarray.js"
import { ArrayValue, definePrimitive, isUndef, type Primitive, type Tangent, type UndefPrimal } from "../interpreter/primitive.js"
import { batchToFront } from "./batching.js"
import { bind1 } from "../interpreter/trace.js"
import { reduceSum } from "./reduce.js"

const shapeOfArg = (x: NdArray | UndefPrimal): ReadonlyArray<number> => x.aval.shape

// ---------------------------------------------------------------------------
/** `reshape`: same elements, new shape. Reason: cannot be composed. A view when the input is contiguous. */
export const Reshape: Primitive<{ readonly shape: ReadonlyArray<number> }> = definePrimitive({
  name: "reshape",
  abstractEval: ([x], { shape }) => {
    const size = shape.reduce((a, b) => a * b, 1)
    if (size !== x.size || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new ShapeError({ op: "reshape", shapes: [x.shape, shape], hint: `cannot reshape an array of size ${x.size} into shape [${shape.join(", ")}]` })
    }
    return [new ShapedArray(shape, x.dtype)]
  },
  impl: ([x], { shape }) => {
    if (x.isContiguous) return [ArrayValue.rowMajor(x.buffer, x.dtype, shape, x.offset)]
    const strides = x.aval.size === 0 ? undefined : viewStrides(x.shape, x.strides, shape)
    if (strides !== undefined) return [new ArrayValue(x.buffer, x.dtype, shape.slice(), strides, x.offset)]
    return [ArrayValue.fromBuffer(cpu.contiguous(x), x.dtype, shape)]
  },
  jvp: ([x], [xDot], params) => [[reshape(x, params.shape)], [reshape(xDot!, params.shape)]], // d reshape(x) = reshape(dx)
  linear: true,
  transpose: ([ct], [x]) => [reshape(ct!, shapeOfArg(x))], // adjoint of a reshape is the inverse reshape
  batch: ([x], [d], { shape }) => [[reshape(batchToFront([x], [d])[0], [x.shape[d!], ...shape])], [0]],
  showParams: ({ shape }) => `shape=[${shape.join(",")}]`
})

/**
 * Strides that let a non-empty strided view take `newShape` without a copy
 * (NumPy's `_attempt_nocopy_reshape`), or undefined when its elements cannot
 * be walked that way. Dims are grouped where old and new sizes agree; each
 * group of old dims must be laid out as one (stride[i] = shape[i+1] ·
 * stride[i+1], which a broadcast's zero strides satisfy), and the new dims of
 * the group split its innermost stride.
 */
export const viewStrides = (oldShape: ReadonlyArray<number>, oldStrides: ReadonlyArray<number>, newShape: ReadonlyArray<number>): Array<number> | undefined => {
  const od: Array<number> = []
  const os: Array<number> = []
  for (let i = 0; i < oldShape.length; i++) {
    if (oldShape[i] !== 1) {
      od.push(oldShape[i])
      os.push(oldStrides[i])
    }
  }
  const ns = new Array<number>(newShape.length).fill(0)
  let oi = 0
  let oj = 1
  let ni = 0
  let nj = 1
  while (ni < newShape.length && oi < od.length) {
    let np = newShape[ni]
    let op = od[oi]
    while (np !== op) {
      if (np < op) np *= newShape[nj++]
      else op *= od[oj++]
    }
    for (let ok = oi; ok < oj - 1; ok++) if (os[ok] !== od[ok + 1] * os[ok + 1]) return undefined
    ns[nj - 1] = os[oj - 1]
    for (let nk = nj - 1; nk > ni; nk--) ns[nk - 1] = ns[nk] * newShape[nk]
    ni = nj++
    oi = oj++
  }
  return ns // (new dims past the last group have size 1: any stride)
}

export const reshape = (x: NdArray, shape: ReadonlyArray<number>): NdArray =>
  sameShape(x.shape, shape) ? x : bind1(Reshape, [x], { shape })

// ---------------------------------------------------------------------------
/** `broadcastTo`: NumPy broadcasting of one array to a shape. Reason: cannot be composed. Always a view (stride 0). */
export const BroadcastTo: Primitive<{ readonly shape: ReadonlyArray<number> }> = definePrimitive({
  name: "broadcast_to",
  abstractEval: ([x], { shape }) => {
    const out = broadcastShapes("broadcastTo", x.shape, shape)
    if (!sameShape(out, shape)) {
      throw new ShapeError({ op: "broadcastTo", shapes: [x.shape, shape], hint: `cannot broadcast to [${shape.join(", ")}]` })
    }
    return [new ShapedArray(shape, x.dtype)]
  },
  impl: ([x], { shape }) => {
    const lead = shape.length - x.shape.length
    const strides = shape.map((d, i) => (i < lead || x.shape[i - lead] !== d || d === 1 ? 0 : x.strides[i - lead]))
    return [new ArrayValue(x.buffer, x.dtype, shape.slice(), strides, x.offset)]
  },
  jvp: ([x], [xDot], { shape }) => [[broadcastTo(x, shape)], [broadcastTo(xDot!, shape)]], // d broadcast(x) = broadcast(dx)
  linear: true,
  transpose: ([ct], [x]) => [unbroadcast(ct!, shapeOfArg(x))], // adjoint: sum over the broadcast dims
  batch: ([x], [d], { shape }) => {
    const [front] = batchToFront([x], [d])
    const size = front.shape[0]
    const lifted = reshape(front, [size, ...new Array(shape.length - (x.ndim - 1)).fill(1), ...front.shape.slice(1)])
    return [[broadcastTo(lifted, [size, ...shape])], [0]]
  },
  showParams: ({ shape }) => `shape=[${shape.join(",")}]`
})

export const broadcastTo = (x: NdArray, shape: ReadonlyArray<number>): NdArray =>
  sameShape(x.shape, shape) ? x : bind1(BroadcastTo, [x], { shape })

/** Sum `ct` down to `shape`: the adjoint of broadcasting `shape` up to `ct.shape`. */
export const unbroadcast = (ct: NdArray, shape: ReadonlyArray<number>): NdArray => {
  if (sameShape(ct.shape, shape)) return ct
  const lead = ct.ndim - shape.length
  const axes: Array<number> = []
  for (let i = 0; i < ct.ndim; i++) if (i < lead || (shape[i - lead] === 1 && ct.shape[i] !== 1)) axes.push(i)
  return reshape(reduceSum(ct, axes), shape)
}

// ---------------------------------------------------------------------------
/** `transpose`: permute axes. Reason: cannot be composed. Always a view. */
export const Transpose: Primitive<{ readonly perm: ReadonlyArray<number> }> = definePrimitive({
  name: "transpose",
  abstractEval: ([x], { perm }) => {
    const sorted = [...perm].sort((a, b) => a - b)
    if (perm.length !== x.ndim || sorted.some((p, i) => p !== i)) {
      throw new AxisError({ op: "transpose", axis: perm, ndim: x.ndim, hint: `the permutation must list each of 0..${x.ndim - 1} once` })
    }
    return [new ShapedArray(perm.map((p) => x.shape[p]), x.dtype)]
  },
  impl: ([x], { perm }) => [new ArrayValue(x.buffer, x.dtype, perm.map((p) => x.shape[p]), perm.map((p) => x.strides[p]), x.offset)],
  jvp: ([x], [xDot], { perm }) => [[transpose(x, perm)], [transpose(xDot!, perm)]], // linear
  linear: true,
  transpose: ([ct], _, { perm }) => [transpose(ct!, inversePermutation(perm))], // adjoint: inverse permutation
  batch: ([x], [d], { perm }) => [[transpose(x, moveDimInPerm(perm, d!))], [d]],
  showParams: ({ perm }) => `perm=[${perm.join(",")}]`
})

const inversePermutation = (perm: ReadonlyArray<number>): Array<number> => {
  const inv = new Array<number>(perm.length)
  perm.forEach((p, i) => (inv[p] = i))
  return inv
}

/** A permutation of per-example axes, extended to keep a batch dim `d` in place. */
const moveDimInPerm = (perm: ReadonlyArray<number>, d: number): Array<number> => {
  const shifted = perm.map((p) => (p >= d ? p + 1 : p))
  shifted.splice(d, 0, d)
  return shifted
}

export const transpose = (x: NdArray, perm: ReadonlyArray<number>): NdArray =>
  perm.every((p, i) => p === i) && perm.length === x.ndim ? x : bind1(Transpose, [x], { perm })

// ---------------------------------------------------------------------------
interface SliceParams {
  readonly starts: ReadonlyArray<number>
  readonly limits: ReadonlyArray<number>
  readonly steps: ReadonlyArray<number>
}

const sliceLength = (start: number, limit: number, step: number): number => Math.max(0, Math.ceil((limit - start) / step))

/** `slice`: a strided window (start, limit, step ≥ 1 per axis). Reason: cannot be composed. Always a view. */
export const Slice: Primitive<SliceParams> = definePrimitive({
  name: "slice",
  abstractEval: ([x], { starts, limits, steps }) => {
    if (starts.length !== x.ndim || limits.length !== x.ndim || steps.length !== x.ndim) {
      throw new ShapeError({ op: "slice", shapes: [x.shape], hint: `expected ${x.ndim} starts, limits and steps` })
    }
    const shape = x.shape.map((dim, i) => {
      if (!(0 <= starts[i] && starts[i] <= limits[i] && limits[i] <= dim && steps[i] >= 1)) {
        throw new ValueError({ op: "slice", hint: `axis ${i}: need 0 <= start (${starts[i]}) <= limit (${limits[i]}) <= ${dim} and step (${steps[i]}) >= 1` })
      }
      return sliceLength(starts[i], limits[i], steps[i])
    })
    return [new ShapedArray(shape, x.dtype)]
  },
  impl: ([x], { starts, steps }, [out]) => {
    let offset = x.offset
    starts.forEach((s, i) => (offset += s * x.strides[i]))
    return [new ArrayValue(x.buffer, x.dtype, out.shape, x.strides.map((s, i) => s * steps[i]), offset)]
  },
  jvp: ([x], [xDot], p) => [[slice(x, p)], [slice(xDot!, p)]], // linear
  linear: true,
  transpose: ([ct], [x], { starts, limits, steps }) => {
    // adjoint: scatter back into zeros, i.e. pad with the step as interior padding
    const shape = shapeOfArg(x)
    const outShape = ct!.shape
    const high = shape.map((dim, i) => dim - (outShape[i] === 0 ? starts[i] : starts[i] + (outShape[i] - 1) * steps[i] + 1))
    if (outShape.some((d) => d === 0)) return [zerosOf(x.aval)]
    return [pad(ct!, { low: starts, high, interior: steps.map((s) => s - 1), value: 0 })]
  },
  batch: ([x], [d], { starts, limits, steps }) => {
    const insert = <T>(xs: ReadonlyArray<T>, v: T): Array<T> => [...xs.slice(0, d!), v, ...xs.slice(d!)]
    return [[slice(x, { starts: insert(starts, 0), limits: insert(limits, x.shape[d!]), steps: insert(steps, 1) })], [d]]
  },
  showParams: ({ starts, limits, steps }) => `starts=[${starts}] limits=[${limits}] steps=[${steps}]`
})

export const slice = (x: NdArray, params: SliceParams): NdArray =>
  params.starts.every((s, i) => s === 0 && params.limits[i] === x.shape[i] && params.steps[i] === 1) ? x : bind1(Slice, [x], params)

// ---------------------------------------------------------------------------
interface PadParams {
  readonly low: ReadonlyArray<number>
  readonly high: ReadonlyArray<number>
  readonly interior: ReadonlyArray<number>
  readonly value: number
}

/** `pad`: low/high edge padding and interior padding with a constant. Reason: cannot be composed; the adjoint of `slice`. */
export const Pad: Primitive<PadParams> = definePrimitive({
  name: "pad",
  abstractEval: ([x], { low, high, interior }) => {
    if (low.length !== x.ndim || high.length !== x.ndim || interior.length !== x.ndim) {
      throw new ShapeError({ op: "pad", shapes: [x.shape], hint: `expected ${x.ndim} low, high and interior paddings` })
    }
    if ([...low, ...high, ...interior].some((p) => !Number.isInteger(p) || p < 0)) {
      throw new ValueError({ op: "pad", hint: `paddings must be non-negative integers, got low=[${low}] high=[${high}] interior=[${interior}]` })
    }
    return [new ShapedArray(x.shape.map((d, i) => low[i] + high[i] + (d === 0 ? 0 : d + (d - 1) * interior[i])), x.dtype)]
  },
  impl: ([x], { low, interior, value }, [out]) => {
    const size = out.size
    const buffer = cpu.allocate(x.dtype, size)
    if (value !== 0) buffer.fill(value)
    const outStrides = cpu.contiguousStrides(out.shape)
    let offset = 0
    low.forEach((l, i) => (offset += l * outStrides[i]))
    assign(buffer, offset, outStrides.map((s, i) => s * (interior[i] + 1)), x)
    return [ArrayValue.fromBuffer(buffer, x.dtype, out.shape)]
  },
  jvp: ([x], [xDot], p) => [[pad(x, p)], [pad(xDot!, { ...p, value: 0 })]], // d pad(x, c) = pad(dx, 0)
  linear: true,
  transpose: ([ct], [x], { low, interior }) => {
    // adjoint of zero-padding: read the original positions back
    const shape = shapeOfArg(x)
    return [slice(ct!, { starts: low, limits: shape.map((d, i) => low[i] + (d === 0 ? 0 : (d - 1) * (interior[i] + 1) + 1)), steps: interior.map((s) => s + 1) })]
  },
  batch: ([x], [d], p) => {
    const insert = (xs: ReadonlyArray<number>): Array<number> => [...xs.slice(0, d!), 0, ...xs.slice(d!)]
    return [[pad(x, { low: insert(p.low), high: insert(p.high), interior: insert(p.interior), value: p.value })], [d]]
  },
  showParams: ({ low, high, interior, value }) => `low=[${low}] high=[${high}] interior=[${interior}] value=${value}`
})

export const pad = (x: NdArray, params: PadParams): NdArray => bind1(Pad, [x], params)

/** Copy the view `src` into `buffer` at `offset` with `strides` (an odometer over src's shape). */
const assign = (buffer: cpu.Buffer, offset: number, strides: ReadonlyArray<number>, src: ArrayValue): void => {
  const ndim = src.shape.length
  const size = src.aval.size
  if (size === 0) return
  if (ndim === 0) {
    buffer[offset] = src.buffer[src.offset]
    return
  }
  const index = new Array<number>(ndim).fill(0)
  const last = ndim - 1
  const n = src.shape[last]
  const dStride = strides[last]
  const sStride = src.strides[last]
  let outer = size / n
  while (outer-- > 0) {
    let o = offset
    let s = src.offset
    for (let k = 0; k < last; k++) {
      o += index[k] * strides[k]
      s += index[k] * src.strides[k]
    }
    for (let j = 0; j < n; j++) buffer[o + j * dStride] = src.buffer[s + j * sStride]
    for (let k = last - 1; k >= 0; k--) {
      if (++index[k] < src.shape[k]) break
      index[k] = 0
    }
  }
}

// ---------------------------------------------------------------------------
/** `concatenate`: join arrays along an existing axis. Reason: cannot be composed (n-ary). */
export const Concatenate: Primitive<{ readonly axis: number }> = definePrimitive({
  name: "concatenate",
  abstractEval: (xs, { axis }) => {
    const first = xs[0]
    for (const x of xs) {
      if (x.ndim !== first.ndim || x.dtype !== first.dtype || x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
        throw new ShapeError({
          op: "concatenate",
          shapes: xs.map((a) => a.shape),
          hint: `all arrays must have the same dtype and the same shape except along axis ${axis}`
        })
      }
    }
    const shape = first.shape.slice()
    shape[axis] = xs.reduce((n, x) => n + x.shape[axis], 0)
    return [new ShapedArray(shape, first.dtype)]
  },
  impl: (xs, { axis }, [out]) => [ArrayValue.fromBuffer(cpu.concatenate(xs, axis, out.dtype), out.dtype, out.shape)],
  jvp: (xs, dots, { axis }) => [[concatenate(xs, axis)], [concatenate(dots.map((t, i) => t ?? zerosOf(xs[i].aval)), axis)]], // linear
  linear: true,
  transpose: ([ct], xs, { axis }) => {
    // adjoint: cut the cotangent back into the pieces
    let start = 0
    return xs.map((x) => {
      const n = x.aval.shape[axis]
      const piece = isUndef(x)
        ? slice(ct!, {
            starts: ct!.shape.map((_, i) => (i === axis ? start : 0)),
            limits: ct!.shape.map((d, i) => (i === axis ? start + n : d)),
            steps: ct!.shape.map(() => 1)
          })
        : null
      start += n
      return piece
    })
  },
  batch: (xs, dims, { axis }) => [[concatenate(batchToFront(xs, dims), axis + 1)], [0]],
  showParams: ({ axis }) => `axis=${axis}`
})

export const concatenate = (xs: ReadonlyArray<NdArray>, axis: number): NdArray =>
  xs.length === 1 ? xs[0] : bind1(Concatenate, xs, { axis })

// ---------------------------------------------------------------------------
/** `rev`: reverse the order along axes. Reason: cannot be composed. A view with negative strides. */
export const Rev: Primitive<{ readonly axes: ReadonlyArray<number> }> = definePrimitive({
  name: "rev",
  abstractEval: ([x]) => [x],
  impl: ([x], { axes }) => {
    let offset = x.offset
    const strides = x.strides.slice()
    for (const a of axes) {
      if (x.shape[a] > 0) offset += (x.shape[a] - 1) * strides[a]
      strides[a] = -strides[a]
    }
    return [new ArrayValue(x.buffer, x.dtype, x.shape, strides, offset)]
  },
  jvp: ([x], [xDot], p) => [[rev(x, p.axes)], [rev(xDot!, p.axes)]], // linear
  linear: true,
  transpose: ([ct], _, { axes }) => [rev(ct!, axes)], // a reversal is its own adjoint
  batch: ([x], [d], { axes }) => [[rev(x, axes.map((a) => (a >= d! ? a + 1 : a)))], [d]],
  showParams: ({ axes }) => `axes=[${axes}]`
})

export const rev = (x: NdArray, axes: ReadonlyArray<number>): NdArray => (axes.length === 0 ? x : bind1(Rev, [x], { axes }))

// ---------------------------------------------------------------------------
/** A concrete array of zeros (used for symbolic zeros that must be instantiated). */
export const zerosOf = (aval: ShapedArray): NdArray => ArrayValue.fromBuffer(cpu.allocate(aval.dtype, aval.size), aval.dtype, aval.shape)

export type { Tangent }
