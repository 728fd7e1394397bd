/**
 * The user type `NdArray` and its concrete implementation `ArrayValue`.
 *
 * Every value a user touches is an `NdArray`: a concrete array holding
 * numbers, or a tracer standing in for one inside a transform. Functions
 * written against `NdArray` therefore run unchanged under `grad`, `jvp` and
 * `vmap`. A concrete array is an immutable strided view over a typed array:
 * `reshape`, `transpose`, `broadcastTo`, basic slicing and `flip` make new
 * views of the same buffer, and no buffer is ever written after the kernel
 * that produced it returns.
 */
import { Equal, Hash } from "effect"
import * as Pipeable from "effect/Pipeable"
import { contiguous as contiguousCopy } from "../backend/cpu/elementwise.js"
import { type Buffer, type View, contiguousStrides, isContiguous as viewIsContiguous, isResidentBuffer } from "../backend/cpu/types.js"
import { TransformError, ValueError } from "../Errors.js"
import { type DType, ShapedArray } from "./aval.js"

const TypeId = "~gradfx/NdArray"

/**
 * An n-dimensional array: concrete, or traced inside a transform. Pipeable
 * with typed overloads: `x.pipe(NdArray.mul(2), NdArray.sum())`.
 *
 * @category models
 * @since 0.1.0
 */
export abstract class NdArray extends Pipeable.Class implements Equal.Equal {
  /** (On the prototype, not a field per instance.) */
  declare readonly [TypeId]: typeof TypeId
  /** Whether this is a tracer of a transform (on the prototype; see `isTracer`). */
  declare readonly traced: boolean
  /** The shape and dtype. */
  abstract readonly aval: ShapedArray
  get shape(): ReadonlyArray<number> {
    return this.aval.shape
  }
  get dtype(): DType {
    return this.aval.dtype
  }
  get ndim(): number {
    return this.aval.shape.length
  }
  get size(): number {
    return this.aval.size
  }
  /** Nested JavaScript arrays (`boolean`s for a bool array). A size-0-dimensional array gives its scalar. */
  abstract toArray(): unknown
  /** The single value of a size-1 array (`1`/`0` for bool). */
  abstract item(): number
  /** A contiguous copy of the values, as the typed array of the dtype. Writing to it never changes this array. */
  abstract data(): Buffer
  abstract override toString(): string
  abstract [Equal.symbol](that: Equal.Equal): boolean
  abstract [Hash.symbol](): number
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString()
  }
}

Object.defineProperty(NdArray.prototype, TypeId, { value: TypeId })
Object.defineProperty(NdArray.prototype, "traced", { value: false })

export const isNdArray = (u: unknown): u is NdArray => typeof u === "object" && u !== null && (u as any)[TypeId] === TypeId

// Donation (jit's donateArgnums): a donated array's buffer is given to the call, which may reuse
// its memory; the buffer is then deleted, and reading any array over it fails.
const deletedBuffers = new WeakSet<Buffer>()
let anyDeleted = false

/** Marks a donated buffer as deleted: every array over it refuses to be read from now on. */
export const markDeleted = (buffer: Buffer): void => {
  deletedBuffers.add(buffer)
  anyDeleted = true
}

const deletedError = (op: string, x: { readonly dtype: DType; readonly shape: ReadonlyArray<number> }) =>
  new ValueError({
    op,
    hint: `this ${x.dtype} array of shape [${x.shape.join(", ")}] (or an array it is a view of) was donated to a jitted call (donateArgnums) and deleted; use that call's outputs instead`
  })

/** Throws if one of `xs` is a deleted (donated) array. */
export const checkLive = (op: string, xs: ReadonlyArray<NdArray>): void => {
  if (!anyDeleted) return
  for (const x of xs) if (x instanceof ArrayValue && deletedBuffers.has(x.buffer)) throw deletedError(op, x)
}

/**
 * The shape of every 0-d array made from a number (shared, like every shape:
 * shapes and strides are `ReadonlyArray`s the library never writes; they are
 * not frozen, because V8 reads the elements of a frozen array several times
 * slower, and every op reads shapes).
 */
export const SCALAR_SHAPE: ReadonlyArray<number> = []
const SCALAR_STRIDES: ReadonlyArray<number> = []

/**
 * A concrete array: a strided view over a typed array. The array object is
 * frozen; its shape and strides are the constructor's arrays, which the
 * caller hands over and never writes again.
 */
export class ArrayValue extends NdArray implements View {
  readonly aval: ShapedArray
  constructor(
    readonly buffer: Buffer,
    dtype: DType,
    shape: ReadonlyArray<number>,
    readonly strides: ReadonlyArray<number>,
    readonly offset: number
  ) {
    super()
    this.aval = new ShapedArray(shape, dtype)
    Object.freeze(this)
  }

  /** Wrap a fresh contiguous buffer produced by a kernel (not copied). */
  static fromBuffer(buffer: Buffer, dtype: DType, shape: ReadonlyArray<number>): ArrayValue {
    return ArrayValue.rowMajor(buffer, dtype, shape, 0)
  }

  /** A row-major view of `buffer` from `offset`, with a copy of `shape` (it may be a caller's array, e.g. a reshape's argument, that could change later). */
  static rowMajor(buffer: Buffer, dtype: DType, shape: ReadonlyArray<number>, offset: number): ArrayValue {
    if (shape.length === 0) return new ArrayValue(buffer, dtype, SCALAR_SHAPE, SCALAR_STRIDES, offset)
    const own = shape.slice()
    return new ArrayValue(buffer, dtype, own, contiguousStrides(own), offset)
  }

  get isContiguous(): boolean {
    return viewIsContiguous(this)
  }

  /** Read the element at a flat row-major index (slow path helper). */
  at(flat: number): number {
    if (anyDeleted && deletedBuffers.has(this.buffer)) throw deletedError("item", this)
    let index = this.offset
    for (let i = this.shape.length - 1; i >= 0; i--) {
      const d = this.shape[i]
      index += (flat % d) * this.strides[i]
      flat = Math.floor(flat / d)
    }
    return this.buffer[index]
  }

  data(): Buffer {
    if (anyDeleted && deletedBuffers.has(this.buffer)) throw deletedError("data", this)
    const size = this.aval.size
    if (this.isContiguous) return this.buffer.slice(this.offset, this.offset + size) as Buffer
    return contiguousCopy(this)
  }

  toArray(): unknown {
    const values = this.data()
    const bool = this.dtype === "bool"
    const build = (dim: number, start: number): unknown => {
      if (dim === this.shape.length) return bool ? values[start] !== 0 : values[start]
      const n = this.shape[dim]
      let step = 1
      for (let j = dim + 1; j < this.shape.length; j++) step *= this.shape[j]
      const out = new Array(n)
      for (let i = 0; i < n; i++) out[i] = build(dim + 1, start + i * step)
      return out
    }
    return build(0, 0)
  }

  item(): number {
    if (anyDeleted && deletedBuffers.has(this.buffer)) throw deletedError("item", this)
    if (this.aval.size !== 1) {
      throw new TransformError({ transform: "item", hint: `only a size-1 array converts to a number; this one has shape [${this.shape.join(", ")}]` })
    }
    return this.at(0)
  }

  toString(): string {
    if (anyDeleted && deletedBuffers.has(this.buffer)) return `NdArray(<deleted: donated to a jitted call>, shape=[${this.shape.join(", ")}], dtype=${this.dtype})`
    return formatArray(this)
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    if (!(that instanceof ArrayValue) || that.dtype !== this.dtype || !this.aval.equals(that.aval)) return false
    const n = this.aval.size
    for (let i = 0; i < n; i++) {
      const a = this.at(i)
      const b = that.at(i)
      if (a !== b && !(a !== a && b !== b)) return false
    }
    return true
  }

  [Hash.symbol](): number {
    let h = Hash.string(this.dtype)
    for (const d of this.shape) h = Hash.combine(h)(Hash.number(d))
    const n = Math.min(this.aval.size, 64)
    for (let i = 0; i < n; i++) h = Hash.combine(h)(Hash.number(this.at(i)))
    return Hash.optimize(h)
  }
}

/** Values are read through tracers only by the transform that owns them. */
export const concretizationError = (what: string): TransformError =>
  new TransformError({
    transform: what,
    hint: "cannot read the values of a traced array inside a transform (grad, jvp, vmap…); return it from the transformed function instead, or use stopGradient"
  })

// ---------------------------------------------------------------------------
// NumPy-style printing

const formatNumber = (x: number, dtype: DType, decimals: number): string => {
  if (dtype === "bool") return x ? "True" : "False"
  if (dtype === "int32") return String(x)
  if (Number.isNaN(x)) return "nan"
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf"
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x}.`
  const s = x.toFixed(decimals).replace(/0+$/, "")
  return s
}

const formatArray = (a: ArrayValue): string => {
  const values = Array.from(a.data(), Number)
  const dtype = a.dtype
  const finite = values.filter((v) => Number.isFinite(v))
  const maxAbs = finite.reduce((m, v) => Math.max(m, Math.abs(v)), 0)
  const minAbs = finite.reduce((m, v) => (v !== 0 ? Math.min(m, Math.abs(v)) : m), Infinity)
  const scientific = (dtype === "float32" || dtype === "float64") && finite.length > 0 && (maxAbs >= 1e8 || (minAbs < 1e-4 && minAbs !== Infinity))
  const strings = values.map((v) =>
    scientific && Number.isFinite(v) ? v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2") : formatNumber(v, dtype, 4)
  )
  const width = strings.reduce((m, s) => Math.max(m, s.length), 0)
  const padded = strings.map((s) => s.padStart(width))
  const prefix = "array("
  const build = (dim: number, start: number, indent: string): string => {
    if (a.shape.length === 0) return padded[0]
    const n = a.shape[dim]
    let step = 1
    for (let j = dim + 1; j < a.shape.length; j++) step *= a.shape[j]
    if (dim === a.shape.length - 1) {
      const items: Array<string> = []
      const limit = n > 1000 ? 3 : n
      for (let i = 0; i < limit; i++) items.push(padded[start + i])
      if (n > 1000) items.push("...", ...[n - 3, n - 2, n - 1].map((i) => padded[start + i]))
      return `[${items.join(", ")}]`
    }
    const rows: Array<string> = []
    for (let i = 0; i < n; i++) rows.push(build(dim + 1, start + i * step, indent + " "))
    const sep = "," + "\n".repeat(a.shape.length - dim - 1) + indent + " "
    return `[${rows.join(sep)}]`
  }
  const body = build(0, 0, " ".repeat(prefix.length))
  const showDType = dtype !== "float64" && dtype !== "bool" && !(dtype === "int32")
  return `${prefix}${body}${showDType || a.size === 0 ? `, dtype=${dtype}` : dtype === "int32" ? ", dtype=int32" : ""})`
}

/**
 * The arrays, with those whose buffer lives in the WebAssembly engine's
 * memory (a compiled program's intermediates, valid only during its run)
 * copied to the JavaScript heap — once per buffer, views keeping their layout.
 */
export const toHeap = (values: ReadonlyArray<ArrayValue>): Array<ArrayValue> => {
  const copies = new Map<Buffer, Buffer>()
  return values.map((v) => {
    if (!isResidentBuffer(v.buffer)) return v
    let copy = copies.get(v.buffer)
    if (copy === undefined) {
      copy = v.buffer.slice()
      copies.set(v.buffer, copy)
    }
    return new ArrayValue(copy, v.dtype, v.shape, v.strides, v.offset)
  })
}
