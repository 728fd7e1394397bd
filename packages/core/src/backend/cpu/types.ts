/**
 * The data types the CPU kernels work on. Kernels are plain functions over
 * typed arrays: they know nothing of tracers, transforms or errors. Every
 * kernel returns a fresh, contiguous, row-major buffer and never writes to
 * its inputs.
 */
export type DType = "float32" | "float64" | "int32" | "bool"

/** The typed array that backs each dtype (`bool` is stored as 0/1 bytes). */
export type Buffer = Float32Array | Float64Array | Int32Array | Uint8Array

/**
 * A strided view of a buffer. Element `[i0, …, in]` lives at
 * `offset + Σ ik * strides[k]` (in elements, not bytes). Strides may be 0
 * (broadcast) or negative (flip).
 */
export interface View {
  readonly buffer: Buffer
  readonly dtype: DType
  readonly shape: ReadonlyArray<number>
  readonly strides: ReadonlyArray<number>
  readonly offset: number
}

// ---------------------------------------------------------------------------
// Buffer reuse for compiled programs. Outside `jit` every kernel output is a
// fresh typed array. While a compiled program runs (`withBufferReuse`),
// allocations are recorded, and a buffer the program allocated itself and no
// longer reads is handed back (`recycle`) to be reused, zeroed, by a later
// allocation of the same dtype and size — in this run or the next one — which
// spares the allocation, the page faults and the garbage collection of large
// intermediates. Only buffers allocated inside the run are ever recycled, so
// nothing a caller holds can be reused.

/** Buffers smaller than this many elements are not worth pooling (a typed array costs ≈ 1 µs to make, however small). */
const POOL_MIN = 16
/** Per dtype and size, and in total. */
const POOL_PER_KEY = 8
const POOL_MAX_BYTES = 256 * 1024 * 1024

/** Pooled buffers by dtype, then size. */
const pool = new Map<DType, Map<number, Array<Buffer>>>()
let pooledBytes = 0
let fresh: Set<Buffer> | null = null

const pooled = (dtype: DType, size: number): Array<Buffer> | undefined => pool.get(dtype)?.get(size)

/** A pooled buffer of `size` elements taken out of the pool (contents unspecified), or undefined. */
const popPooled = (dtype: DType, size: number): Buffer | undefined => {
  if (size < POOL_MIN) return undefined
  const buffer = pooled(dtype, size)?.pop()
  if (buffer !== undefined) pooledBytes -= buffer.byteLength
  return buffer
}

/**
 * Buffers inside the WebAssembly engine's memory ("resident"), installed by
 * the backend selection: the wasm kernels read and write them in place,
 * with no staging copy. Only a compiled program's run allocates them, for
 * its intermediate values, and every one is given back (or, for an output,
 * copied to the JavaScript heap) before the run returns.
 */
export interface ResidentMemory {
  readonly alloc: (dtype: DType, size: number) => Buffer | undefined
  readonly isResident: (buffer: Buffer) => boolean
  readonly free: (buffer: Buffer) => void
  /** free the block at this byte address (what `free` does, for a caller that no longer has the view) */
  readonly freeAt: (byteOffset: number) => void
}

let resident: ResidentMemory | null = null
let residentOn = false
/** Smaller values stay on the JavaScript heap (staging them costs nothing). */
const RESIDENT_MIN = 1024

/** Installs (or with null removes) the resident memory. */
export const setResidentMemory = (memory: ResidentMemory | null): void => {
  resident = memory
}

/** Whether `buffer` lives in the engine's memory. */
export const isResidentBuffer = (buffer: Buffer): boolean => resident !== null && resident.isResident(buffer)

/** Gives a resident buffer back to the engine's memory. */
export const freeResident = (buffer: Buffer): void => resident?.free(buffer)

/**
 * Run `f` recording the buffers allocated meanwhile (what `recycle` may take
 * back); with `residentBuffers`, large ones are allocated in the engine's
 * memory, and the caller must free what is left of them (`freeResident`).
 */
export const withBufferReuse = <A>(f: (allocated: Set<Buffer>) => A, residentBuffers = false): A => {
  const outer = fresh
  const outerResident = residentOn
  const mine = new Set<Buffer>()
  fresh = mine
  residentOn = residentBuffers && resident !== null
  try {
    return f(mine)
  } finally {
    fresh = outer
    residentOn = outerResident
    if (outer !== null) for (const b of mine) outer.add(b)
  }
}

// ---------------------------------------------------------------------------
// Resident arrays the caller holds. The outputs of a compiled call that was
// given donated arguments stay in the engine's memory ("kept"), so that the
// next call, given them as donations, reads them in place and frees them
// deterministically — a training step's parameters never leave the engine's
// memory. A kept buffer the caller drops instead is freed once the garbage
// collector has found it unreachable (FinalizationRegistry). At most
// KEPT_MAX_BYTES are kept at a time; past that, outputs go to the heap.

const KEPT_MAX_BYTES = 512 * 1024 * 1024

interface Kept {
  readonly at: number
  readonly bytes: number
  readonly free: (byteOffset: number) => void
}

let keptBytes = 0
const kept = new WeakMap<Buffer, Kept>()
const keptRegistry = typeof FinalizationRegistry === "function"
  ? new FinalizationRegistry<Kept>((k) => {
    keptBytes -= k.bytes
    k.free(k.at)
  })
  : undefined

/** Hands a resident buffer the running program allocated to the caller; false if it cannot be kept (then copy it out). */
export const keepResident = (buffer: Buffer): boolean => {
  if (keptRegistry === undefined || resident === null || !resident.isResident(buffer) || keptBytes + buffer.byteLength > KEPT_MAX_BYTES) return false
  const k: Kept = { at: buffer.byteOffset, bytes: buffer.byteLength, free: resident.freeAt }
  keptRegistry.register(buffer, k, buffer)
  kept.set(buffer, k)
  keptBytes += k.bytes
  return true
}

/** Frees a kept buffer now (it was donated); false if `buffer` is not a kept one. */
export const releaseKept = (buffer: Buffer): boolean => {
  const k = kept.get(buffer)
  if (k === undefined) return false
  keptRegistry!.unregister(buffer)
  kept.delete(buffer)
  keptBytes -= k.bytes
  k.free(k.at)
  return true
}

/** Whether `buffer` is a resident buffer the caller holds. */
export const isKept = (buffer: Buffer): boolean => kept.has(buffer)

/** Bytes of the engine's memory held by kept arrays (tests). */
export const keptResidentBytes = (): number => keptBytes

/** Run `f` (user code: a callback) with plain allocation, none of it pooled or resident. */
export const withoutBufferReuse = <A>(f: () => A): A => {
  const outer = fresh
  const outerResident = residentOn
  fresh = null
  residentOn = false
  try {
    return f()
  } finally {
    fresh = outer
    residentOn = outerResident
  }
}

/** Makes the kernels about to run allocate on the JavaScript heap (a program's outputs); returns the setting to give back to `heapBuffersOff`. */
export const heapBuffersOn = (): boolean => {
  const outer = residentOn
  residentOn = false
  return outer
}

/** Restores the setting `heapBuffersOn` returned. */
export const heapBuffersOff = (outer: boolean): void => {
  residentOn = outer
}

const takeResident = (dtype: DType, size: number): Buffer | undefined => {
  if (!residentOn || size < RESIDENT_MIN) return undefined
  const buffer = resident!.alloc(dtype, size)
  if (buffer !== undefined) fresh!.add(buffer)
  return buffer
}

/** Give back a buffer that the running program allocated and no longer uses. */
export const recycle = (dtype: DType, buffer: Buffer): void => {
  if (resident !== null && resident.isResident(buffer)) {
    resident.free(buffer)
    fresh?.delete(buffer)
    return
  }
  if (buffer.length < POOL_MIN || pooledBytes + buffer.byteLength > POOL_MAX_BYTES) return
  let bySize = pool.get(dtype)
  if (bySize === undefined) {
    bySize = new Map()
    pool.set(dtype, bySize)
  }
  let list = bySize.get(buffer.length)
  if (list === undefined) {
    list = []
    bySize.set(buffer.length, list)
  }
  if (list.length >= POOL_PER_KEY) return
  list.push(buffer)
  pooledBytes += buffer.byteLength
  fresh?.delete(buffer)
}

/** Drop every pooled buffer (tests, or to give the memory back). */
export const clearBufferPool = (): void => {
  pool.clear()
  pooledBytes = 0
}

export const allocate = (dtype: DType, size: number): Buffer => {
  if (fresh !== null) {
    const inMemory = takeResident(dtype, size)
    if (inMemory !== undefined) {
      inMemory.fill(0)
      return inMemory
    }
    const buffer = popPooled(dtype, size)?.fill(0) ?? allocateNew(dtype, size)
    fresh.add(buffer)
    return buffer
  }
  return allocateNew(dtype, size)
}

/**
 * A pooled (or resident) buffer of `size` elements with unspecified
 * contents (for a kernel that writes every element), or undefined when
 * none is pooled; the caller then makes its own and hands it to `adopt`.
 */
export const takePooled = (dtype: DType, size: number): Buffer | undefined => {
  if (fresh === null) return undefined
  const inMemory = takeResident(dtype, size)
  if (inMemory !== undefined) {
    if (poisonUninit) poison(inMemory)
    return inMemory
  }
  const buffer = popPooled(dtype, size)
  if (buffer === undefined) return undefined
  fresh.add(buffer)
  if (poisonUninit) poison(buffer)
  return buffer
}

/**
 * A buffer of `size` elements for a new array outside compiled runs (an
 * `NdArray.array` copy), from the pool when one is there (contents
 * unspecified: the caller overwrites every element), else fresh. Pooled
 * buffers are ones nothing can read any more (dead intermediates, donated
 * arrays), so reusing them spares the allocation and its page faults.
 */
export const allocateForCopy = (dtype: DType, size: number): Buffer => {
  const buffer = popPooled(dtype, size)
  if (buffer === undefined) return allocateUninit(dtype, size)
  fresh?.add(buffer)
  if (poisonUninit) poison(buffer)
  return buffer
}

/** Records a buffer a kernel made itself as allocated by the running program (see `allocate`). */
export const adopt = (buffer: Buffer): void => {
  fresh?.add(buffer)
}

/**
 * A buffer of `size` elements whose contents are unspecified, for a kernel
 * that writes every element: pooled (or resident) while a compiled program
 * runs, else fresh. In Node a fresh large one is not zero-filled
 * (`Buffer.allocUnsafeSlow`), which saves ≈ 20–25 µs per MB here; the
 * first-touch page faults of fresh memory remain (bench/README.md). Its old
 * contents could be anything, so every caller must write every element (a
 * test poisons these buffers to check).
 */
export const allocateUninit = (dtype: DType, size: number): Buffer => {
  const pooled = takePooled(dtype, size)
  if (pooled !== undefined) return pooled
  const bytes = size * bytesPerElement[dtype]
  const buffer = unsafeBytes === undefined || bytes < UNINIT_MIN_BYTES ? allocateNew(dtype, size) : typed(dtype, size, unsafeBytes(bytes).buffer as ArrayBuffer)
  fresh?.add(buffer)
  if (poisonUninit) poison(buffer)
  return buffer
}

let poisonUninit = false

/** Tests: fill every buffer `allocateUninit` (or `takePooled`) hands out with 0xFF bytes (NaN, −1, 255), so that a kernel leaving an element unwritten shows. */
export const setUninitPoison = (on: boolean): void => {
  poisonUninit = on
}

const poison = (buffer: Buffer): void => {
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength).fill(0xff)
}

/** Below this many bytes a zeroed typed array is as cheap as an uninitialised one. */
const UNINIT_MIN_BYTES = 1 << 16
const unsafeBytes = (globalThis as { Buffer?: { allocUnsafeSlow?: (bytes: number) => { buffer: ArrayBufferLike } } }).Buffer?.allocUnsafeSlow
const bytesPerElement: Readonly<Record<DType, number>> = { float32: 4, float64: 8, int32: 4, bool: 1 }

const allocateNew = (dtype: DType, size: number): Buffer => typed(dtype, size)

/** The typed array of `dtype` with `size` elements: fresh and zeroed, or over the start of `memory`. */
const typed = (dtype: DType, size: number, memory?: ArrayBuffer): Buffer => {
  switch (dtype) {
    case "float32":
      return memory === undefined ? new Float32Array(size) : new Float32Array(memory, 0, size)
    case "float64":
      return memory === undefined ? new Float64Array(size) : new Float64Array(memory, 0, size)
    case "int32":
      return memory === undefined ? new Int32Array(size) : new Int32Array(memory, 0, size)
    case "bool":
      return memory === undefined ? new Uint8Array(size) : new Uint8Array(memory, 0, size)
  }
}

export const sizeOf = (shape: ReadonlyArray<number>): number => {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Row-major strides of a contiguous array of `shape`. */
export const contiguousStrides = (shape: ReadonlyArray<number>): Array<number> => {
  const strides = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s
    s *= shape[i]
  }
  return strides
}

/** True when the view is row-major contiguous (its elements are `buffer[offset .. offset + size)` in order). */
export const isContiguous = (v: View): boolean => {
  let s = 1
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.strides[i] !== s) return false
    s *= v.shape[i]
  }
  return true
}
