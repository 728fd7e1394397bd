/**
 * Small WebAssembly kernel modules (elementwise, pooling, im2col …) on the
 * matmul engine's linear memory.
 *
 * Each module is generated at run time with the emitter, imports the
 * engine's memory as `env.memory` and is compiled once per key. The calling
 * thread stages operands into a scratch region of the memory
 * (`TypedArray.set`, a memcpy), runs the kernel and copies the result out.
 * A copy costs ≈ 0.03 ns per float32 while it stays in cache (≈ 0.25 ns
 * beyond L2) where a JavaScript loop costs ≥ 1 ns per element, so staging
 * is cheap next to what SIMD saves — and operands that are already in the
 * memory (a compiled program's intermediates, "resident" buffers, below)
 * are not copied at all.
 */
import { forUp, ModuleBuilder, ValType } from "./emitter.js"
import { getEngineMemory } from "./index.js"

/** Byte alignment of staged regions (a cache line). */
export const ALIGN = 64

export const alignUp = (bytes: number): number => Math.ceil(bytes / ALIGN) * ALIGN

const modules = new Map<string, unknown>()

/** A module builder whose memory import matches the engine's (shared or not). */
export const kernelModule = (): ModuleBuilder | undefined => {
  const m = getEngineMemory()
  if (m === null) return undefined
  return new ModuleBuilder().importMemory({ module: "env", name: "memory", initial: 1, maximum: m.maxPages, shared: m.shared })
}

/**
 * The exports of the module built by `build` (once per `key`), instantiated
 * on the engine's memory; undefined without WebAssembly SIMD or when the
 * module does not validate (the caller then uses its JavaScript kernel).
 */
export const kernelExports = <E>(key: string, build: (mod: ModuleBuilder) => void): E | undefined => {
  if (modules.has(key)) return modules.get(key) as E | undefined
  let exports: E | undefined
  const m = getEngineMemory()
  const mod = kernelModule()
  if (m !== null && mod !== undefined) {
    try {
      build(mod)
      const bytes = mod.toBytes()
      if (m.api.validate(bytes)) exports = new m.api.Instance(new m.api.Module(bytes), { env: { memory: m.memory } }).exports as E
    } catch {
      exports = undefined
    }
  }
  modules.set(key, exports)
  return exports
}

// ---------------------------------------------------------------------------
// Blocks of the engine's memory
//
// Everything that lives in the memory gets a block from one allocator:
// the scratch region the kernels stage operands in (one block, grown when a
// call needs more) and the buffers of compiled programs' intermediate values
// ("resident" buffers, see `residentAlloc`), which the kernels read and write
// in place. Free blocks are kept by size and reused by the next request of
// that size (a compiled program asks for the same sizes at every call), or
// of up to half that size. The memory itself never shrinks.

/** Byte offset of the first block (the matmul self-test uses the bytes below). */
const HEAP_START = 1 << 16

let top = HEAP_START
const freeBlocks = new Map<number, Array<number>>()
const blockBytes = new Map<number, number>()

/** A block of at least `bytes` (64-byte aligned), or undefined (no WebAssembly, or past the 2 GiB cap). */
const allocBlock = (bytes: number): number | undefined => {
  const size = Math.max(ALIGN, alignUp(bytes))
  let list = freeBlocks.get(size)
  if (list === undefined || list.length === 0) {
    // best fit among the free blocks up to twice the size
    let best = 0
    for (const [s, l] of freeBlocks) if (s > size && s <= 2 * size && l.length > 0 && (best === 0 || s < best)) best = s
    list = best === 0 ? undefined : freeBlocks.get(best)
  }
  const reused = list?.pop()
  if (reused !== undefined) return reused
  const m = getEngineMemory()
  // (64 bytes of slack past the last block: vector loops may read a little past an operand's end)
  if (m === null || !m.ensure(top + size + ALIGN)) return undefined
  const at = top
  top += size
  blockBytes.set(at, size)
  return at
}

const freeBlock = (at: number): void => {
  const size = blockBytes.get(at)!
  let list = freeBlocks.get(size)
  if (list === undefined) {
    list = []
    freeBlocks.set(size, list)
  }
  list.push(at)
}

let scratchAt = -1
let scratchBytes = 0

export interface Scratch {
  readonly f32: Float32Array
  readonly f64: Float64Array
  readonly u8: Uint8Array
  /** byte address of the region (add it to every offset inside the region) */
  readonly base: number
}

/**
 * The scratch region, at least `bytes` long, with views covering the whole
 * memory; undefined without WebAssembly or past the 2 GiB cap. Valid until
 * the next call (kernels run one at a time on the calling thread).
 */
export const scratch = (bytes: number): Scratch | undefined => {
  const m = getEngineMemory()
  if (m === null) return undefined
  if (bytes > scratchBytes) {
    const want = Math.max(bytes, Math.floor(scratchBytes * 1.5))
    const at = allocBlock(want)
    if (at === undefined) return undefined
    if (scratchAt >= 0) freeBlock(scratchAt)
    scratchAt = at
    scratchBytes = blockBytes.get(at) ?? alignUp(want)
  }
  const views = m.views()
  return { f32: views.f32, f64: views.f64, u8: views.u8, base: scratchAt }
}

// ---------------------------------------------------------------------------
// Resident buffers

type Resident = Float32Array | Float64Array | Int32Array | Uint8Array

/** The SharedArrayBuffer objects over the engine's memory (a new one after each growth). */
const residentMemories = new WeakSet<object>()

/**
 * A typed array of `size` elements inside the engine's memory (contents
 * unspecified), or undefined when the memory is not shared (growing a
 * non-shared memory would detach it) or full. Only compiled programs use
 * these, for values that die inside the run; `residentFree` gives it back.
 */
export const residentAlloc = (dtype: "float32" | "float64" | "int32" | "bool", size: number): Resident | undefined => {
  const m = getEngineMemory()
  if (m === null || !m.shared) return undefined
  const elt = dtype === "float64" ? 8 : dtype === "bool" ? 1 : 4
  const at = allocBlock(size * elt)
  if (at === undefined) return undefined
  const memory = (m.memory as { readonly buffer: ArrayBufferLike }).buffer
  residentMemories.add(memory)
  switch (dtype) {
    case "float32":
      return new Float32Array(memory, at, size)
    case "float64":
      return new Float64Array(memory, at, size)
    case "int32":
      return new Int32Array(memory, at, size)
    case "bool":
      return new Uint8Array(memory, at, size)
  }
}

/** The allocator's state (tests): bytes handed out so far (the high-water mark) and bytes free for reuse. */
export const blockStats = (): { readonly top: number; readonly free: number } => {
  let free = 0
  for (const [size, list] of freeBlocks) free += size * list.length
  return { top, free }
}

/** Whether `buffer` is a resident buffer (a view of the engine's memory). */
export const isResident = (buffer: ArrayBufferView): boolean => residentMemories.has(buffer.buffer)

/** Gives a resident buffer's block back (the buffer must not be used afterwards). */
export const residentFree = (buffer: ArrayBufferView): void => freeBlock(buffer.byteOffset)

/** Gives back the resident block at `byteOffset` (a kept array the garbage collector found unreachable). */
export const residentFreeAt = (byteOffset: number): void => freeBlock(byteOffset)

// ---------------------------------------------------------------------------
// Strided row copies

type CopyRows = (src: number, srcStride: number, dst: number, dstStride: number, rowBytes: number, rows: number) => void

/**
 * `copyRows(src, srcStride, dst, dstStride, rowBytes, rows)`: `rows` rows of
 * `rowBytes` bytes from `src` (rows `srcStride` bytes apart) to `dst` (rows
 * `dstStride` apart), inside the engine's memory — one `memory.copy` a row
 * instead of a JavaScript `set` call each. Undefined without WebAssembly.
 */
export const copyRows = (): CopyRows | undefined =>
  kernelExports<{ copyRows: CopyRows }>("copyRows", (mod) => {
    const { i32 } = ValType
    const { f } = mod.func("copyRows", [i32, i32, i32, i32, i32, i32], [])
    const [SRC, SS, DST, DS, BYTES, ROWS] = [0, 1, 2, 3, 4, 5]
    const r = f.local(i32)
    f.i32(0).set(r)
    forUp(f, r, ROWS, 1, () => {
      f.get(DST).get(SRC).get(BYTES).memoryCopy()
      f.addLocal(SRC, SS)
      f.addLocal(DST, DS)
    })
  })?.copyRows
