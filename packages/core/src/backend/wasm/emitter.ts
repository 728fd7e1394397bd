/**
 * A tiny WebAssembly bytecode emitter: just enough of the binary format to
 * build numeric kernels at run time (no toolchain, no committed binaries).
 *
 * Supported: one imported memory (shared or not), functions with typed
 * locals, structured control flow (block / loop / if), i32 arithmetic,
 * scalar f32/f64 loads and stores, and the 128-bit SIMD subset used by the
 * matmul kernels (v128 loads/stores/splats, f32x4 / f64x2 add & mul and the
 * relaxed-SIMD fused multiply-add when the engine has it).
 *
 * Encoding reference: WebAssembly Core Specification §5 (binary format) and
 * the SIMD / relaxed-SIMD proposals' BinarySIMD.md opcode tables.
 */

export const ValType = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b
} as const
export type ValType = (typeof ValType)[keyof typeof ValType]

/** Appends `v` (0 ≤ v < 2^32) as unsigned LEB128. */
export const writeU32 = (out: Array<number>, v: number): void => {
  let x = v >>> 0
  do {
    let byte = x & 0x7f
    x >>>= 7
    if (x !== 0) byte |= 0x80
    out.push(byte)
  } while (x !== 0)
}

/** Appends a 32-bit signed integer as signed LEB128. */
export const writeI32 = (out: Array<number>, v: number): void => {
  let x = v | 0
  for (;;) {
    const byte = x & 0x7f
    x >>= 7
    if ((x === 0 && (byte & 0x40) === 0) || (x === -1 && (byte & 0x40) !== 0)) {
      out.push(byte)
      return
    }
    out.push(byte | 0x80)
  }
}

const writeName = (out: Array<number>, s: string): void => {
  const bytes = new TextEncoder().encode(s)
  writeU32(out, bytes.length)
  for (const b of bytes) out.push(b)
}

const writeSection = (out: Array<number>, id: number, body: Array<number>): void => {
  out.push(id)
  writeU32(out, body.length)
  for (const b of body) out.push(b)
}

const log2Align = (bytes: number): number => (bytes === 1 ? 0 : bytes === 2 ? 1 : bytes === 4 ? 2 : bytes === 8 ? 3 : 4)

/** SIMD opcodes (after the 0xFD prefix). */
export const Simd = {
  v128_load: 0,
  v128_load32_splat: 9,
  v128_load64_splat: 10,
  v128_store: 11,
  v128_const: 12,
  i8x16_shuffle: 13,
  i32x4_splat: 17,
  f32x4_splat: 19,
  f64x2_splat: 20,
  f32x4_eq: 0x41,
  f32x4_ne: 0x42,
  f32x4_lt: 0x43,
  f32x4_gt: 0x44,
  f32x4_le: 0x45,
  f32x4_ge: 0x46,
  f64x2_eq: 0x47,
  f64x2_ne: 0x48,
  f64x2_lt: 0x49,
  f64x2_gt: 0x4a,
  f64x2_le: 0x4b,
  f64x2_ge: 0x4c,
  v128_not: 0x4d,
  v128_and: 0x4e,
  v128_andnot: 0x4f,
  v128_or: 0x50,
  v128_xor: 0x51,
  v128_bitselect: 0x52,
  v128_any_true: 0x53,
  f32x4_ceil: 0x67,
  f32x4_floor: 0x68,
  f32x4_trunc: 0x69,
  f32x4_nearest: 0x6a,
  f64x2_ceil: 0x74,
  f64x2_floor: 0x75,
  f64x2_trunc: 0x7a,
  f64x2_nearest: 0x94,
  i32x4_add: 0xae,
  i32x4_sub: 0xb1,
  f32x4_abs: 0xe0,
  f32x4_neg: 0xe1,
  f32x4_sqrt: 0xe3,
  f32x4_add: 228,
  f32x4_sub: 0xe5,
  f32x4_mul: 230,
  f32x4_div: 0xe7,
  f32x4_min: 0xe8,
  f32x4_max: 0xe9,
  f32x4_pmin: 0xea,
  f32x4_pmax: 0xeb,
  f64x2_abs: 0xec,
  f64x2_neg: 0xed,
  f64x2_sqrt: 0xef,
  f64x2_add: 240,
  f64x2_sub: 0xf1,
  f64x2_mul: 242,
  f64x2_div: 0xf3,
  f64x2_min: 0xf4,
  f64x2_max: 0xf5,
  f64x2_pmin: 0xf6,
  f64x2_pmax: 0xf7,
  f32x4_demote_f64x2_zero: 0x5e,
  f64x2_promote_low_f32x4: 0x5f,
  i64x2_extend_low_i32x4_s: 0xc7,
  i64x2_shl: 0xcb,
  i64x2_add: 0xce,
  i32x4_trunc_sat_f64x2_s_zero: 0xfc,
  f64x2_convert_low_i32x4_s: 0xfe,
  f32x4_relaxed_madd: 0x105,
  f64x2_relaxed_madd: 0x107,
  f32x4_extract_lane: 0x1f,
  f64x2_extract_lane: 0x21,
  v128_load32_zero: 0x5c,
  i16x8_extend_low_i8x16_u: 0x89,
  i32x4_extend_low_i16x8_u: 0xa9,
  i32x4_ne: 0x38,
  i8x16_splat: 0x0f,
  i8x16_narrow_i16x8_s: 0x65,
  i16x8_narrow_i32x4_s: 0x85,
  v128_store16_lane: 0x59,
  v128_store32_lane: 0x5a
} as const

/**
 * Builds one function body. Instructions are appended in stack-machine
 * order, e.g. `f.get(x); f.i32(4); f.add(); f.set(x)`.
 */
export class FunctionBuilder {
  readonly code: Array<number> = []
  private readonly localTypes: Array<ValType> = []

  constructor(
    readonly params: ReadonlyArray<ValType>,
    readonly results: ReadonlyArray<ValType>
  ) {}

  /** Declares a new local and returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type)
    return this.params.length + this.localTypes.length - 1
  }

  /** Raw bytes. */
  emit(...bytes: Array<number>): this {
    for (const b of bytes) this.code.push(b)
    return this
  }

  // ---- control ---------------------------------------------------------------
  block(body: () => void): this {
    this.code.push(0x02, 0x40)
    body()
    this.code.push(0x0b)
    return this
  }
  loop(body: () => void): this {
    this.code.push(0x03, 0x40)
    body()
    this.code.push(0x0b)
    return this
  }
  /** `if` consuming an i32 condition from the stack (no results). */
  if(then: () => void, otherwise?: () => void): this {
    this.code.push(0x04, 0x40)
    then()
    if (otherwise !== undefined) {
      this.code.push(0x05)
      otherwise()
    }
    this.code.push(0x0b)
    return this
  }
  br(depth: number): this {
    this.code.push(0x0c)
    writeU32(this.code, depth)
    return this
  }
  brIf(depth: number): this {
    this.code.push(0x0d)
    writeU32(this.code, depth)
    return this
  }
  /** br_table: branches to `depths[i]` for the i32 index i on the stack, to `otherwise` when it is out of range. */
  brTable(depths: ReadonlyArray<number>, otherwise: number): this {
    this.code.push(0x0e)
    writeU32(this.code, depths.length)
    for (const d of depths) writeU32(this.code, d)
    writeU32(this.code, otherwise)
    return this
  }
  ret(): this {
    this.code.push(0x0f)
    return this
  }
  call(funcIndex: number): this {
    this.code.push(0x10)
    writeU32(this.code, funcIndex)
    return this
  }
  drop(): this {
    this.code.push(0x1a)
    return this
  }
  /** [a, b, cond] → cond ? a : b (numeric operands). */
  select(): this {
    this.code.push(0x1b)
    return this
  }

  // ---- variables -------------------------------------------------------------
  get(i: number): this {
    this.code.push(0x20)
    writeU32(this.code, i)
    return this
  }
  set(i: number): this {
    this.code.push(0x21)
    writeU32(this.code, i)
    return this
  }
  tee(i: number): this {
    this.code.push(0x22)
    writeU32(this.code, i)
    return this
  }

  // ---- i32 -------------------------------------------------------------------
  i32(v: number): this {
    this.code.push(0x41)
    writeI32(this.code, v)
    return this
  }
  eqz(): this {
    return this.emit(0x45)
  }
  eq(): this {
    return this.emit(0x46)
  }
  ne(): this {
    return this.emit(0x47)
  }
  ltS(): this {
    return this.emit(0x48)
  }
  ltU(): this {
    return this.emit(0x49)
  }
  gtS(): this {
    return this.emit(0x4a)
  }
  leS(): this {
    return this.emit(0x4c)
  }
  geS(): this {
    return this.emit(0x4e)
  }
  add(): this {
    return this.emit(0x6a)
  }
  sub(): this {
    return this.emit(0x6b)
  }
  mul(): this {
    return this.emit(0x6c)
  }
  and(): this {
    return this.emit(0x71)
  }
  or(): this {
    return this.emit(0x72)
  }
  shl(): this {
    return this.emit(0x74)
  }
  shrU(): this {
    return this.emit(0x76)
  }

  // ---- convenience -------------------------------------------------------------
  /** local[i] += c (constant). */
  addConst(i: number, c: number): this {
    return this.get(i).i32(c).add().set(i)
  }
  /** local[i] += local[j]. */
  addLocal(i: number, j: number): this {
    return this.get(i).get(j).add().set(i)
  }
  /** Pushes min(local[x], local[y]) (signed). */
  minS(x: number, y: number): this {
    return this.get(x).get(y).get(x).get(y).ltS().select()
  }

  // ---- memory ----------------------------------------------------------------
  private memarg(alignBytes: number, offset: number): this {
    writeU32(this.code, log2Align(alignBytes))
    writeU32(this.code, offset)
    return this
  }
  i32Load(offset = 0): this {
    this.code.push(0x28)
    return this.memarg(4, offset)
  }
  f32Load(offset = 0): this {
    this.code.push(0x2a)
    return this.memarg(4, offset)
  }
  f64Load(offset = 0): this {
    this.code.push(0x2b)
    return this.memarg(8, offset)
  }
  f32Store(offset = 0): this {
    this.code.push(0x38)
    return this.memarg(4, offset)
  }
  f64Store(offset = 0): this {
    this.code.push(0x39)
    return this.memarg(8, offset)
  }
  f32Const(v: number): this {
    this.code.push(0x43)
    const b = new Uint8Array(new Float32Array([v]).buffer)
    for (const x of b) this.code.push(x)
    return this
  }
  f64Const(v: number): this {
    this.code.push(0x44)
    const b = new Uint8Array(new Float64Array([v]).buffer)
    for (const x of b) this.code.push(x)
    return this
  }

  // ---- SIMD ------------------------------------------------------------------
  simd(op: number): this {
    this.code.push(0xfd)
    writeU32(this.code, op)
    return this
  }
  v128Load(offset = 0, alignBytes = 16): this {
    return this.simd(Simd.v128_load).memarg(alignBytes, offset)
  }
  v128Store(offset = 0, alignBytes = 16): this {
    return this.simd(Simd.v128_store).memarg(alignBytes, offset)
  }
  v128Load32Splat(offset = 0): this {
    return this.simd(Simd.v128_load32_splat).memarg(4, offset)
  }
  /** memory.copy (bulk memory): (dst, src, bytes) on the stack */
  memoryCopy(): this {
    this.code.push(0xfc)
    writeU32(this.code, 10)
    this.code.push(0x00, 0x00)
    return this
  }
  /** v128.store<bits>_lane: stores lane `lane` of the vector on the stack */
  v128StoreLane(bits: 16 | 32, lane: number, offset = 0, alignBytes = 1): this {
    this.simd(bits === 16 ? Simd.v128_store16_lane : Simd.v128_store32_lane).memarg(alignBytes, offset)
    this.code.push(lane)
    return this
  }
  v128Load32Zero(offset = 0, alignBytes = 4): this {
    return this.simd(Simd.v128_load32_zero).memarg(alignBytes, offset)
  }
  v128Load64Splat(offset = 0): this {
    return this.simd(Simd.v128_load64_splat).memarg(8, offset)
  }
  /** v128.const of 16 raw bytes */
  v128Const(bytes: ArrayLike<number>): this {
    this.simd(Simd.v128_const)
    for (let i = 0; i < 16; i++) this.code.push(bytes[i] & 0xff)
    return this
  }
  /** i8x16.shuffle of the two vectors on the stack by 16 byte-lane indices (0–31) */
  shuffle(lanes: ArrayLike<number>): this {
    this.simd(Simd.i8x16_shuffle)
    for (let i = 0; i < 16; i++) this.code.push(lanes[i])
    return this
  }
  v128Zero(): this {
    this.simd(Simd.v128_const)
    for (let i = 0; i < 16; i++) this.code.push(0)
    return this
  }

  /** Encodes locals + body + `end`. */
  encode(): Array<number> {
    const out: Array<number> = []
    const groups: Array<[number, ValType]> = []
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1]
      if (last !== undefined && last[1] === t) last[0]++
      else groups.push([1, t])
    }
    writeU32(out, groups.length)
    for (const [count, t] of groups) {
      writeU32(out, count)
      out.push(t)
    }
    for (const b of this.code) out.push(b)
    out.push(0x0b)
    return out
  }
}

interface FunctionEntry {
  readonly name: string | undefined
  readonly typeIndex: number
  readonly builder: FunctionBuilder
}

/** `for (i = start; i < limit; i += step) body()` with locals i, limit (i set by the caller). */
export const forUp = (f: FunctionBuilder, i: number, limit: number, step: number, body: () => void): void => {
  f.block(() => {
    f.get(i).get(limit).geS().brIf(0)
    f.loop(() => {
      body()
      f.addConst(i, step)
      f.get(i).get(limit).ltS().brIf(0)
    })
  })
}

export interface MemoryImport {
  readonly module: string
  readonly name: string
  /** initial size in 64 KiB pages */
  readonly initial: number
  /** maximum size in pages (required when shared) */
  readonly maximum?: number
  readonly shared: boolean
}

/** Assembles a module: one imported memory plus locally defined functions. */
export class ModuleBuilder {
  private readonly types: Array<string> = []
  private readonly typeBytes: Array<Array<number>> = []
  private readonly functions: Array<FunctionEntry> = []
  private memory: MemoryImport | undefined

  importMemory(memory: MemoryImport): this {
    this.memory = memory
    return this
  }

  private typeIndex(params: ReadonlyArray<ValType>, results: ReadonlyArray<ValType>): number {
    const key = `${params.join(",")}->${results.join(",")}`
    const found = this.types.indexOf(key)
    if (found >= 0) return found
    const bytes: Array<number> = [0x60]
    writeU32(bytes, params.length)
    for (const p of params) bytes.push(p)
    writeU32(bytes, results.length)
    for (const r of results) bytes.push(r)
    this.types.push(key)
    this.typeBytes.push(bytes)
    return this.types.length - 1
  }

  /**
   * Declares a function (exported under `name` when given) and returns its
   * index together with the builder; the body may be filled in later, which
   * allows forward calls.
   */
  func(
    name: string | undefined,
    params: ReadonlyArray<ValType>,
    results: ReadonlyArray<ValType>
  ): { readonly index: number; readonly f: FunctionBuilder } {
    const builder = new FunctionBuilder(params, results)
    this.functions.push({ name, typeIndex: this.typeIndex(params, results), builder })
    return { index: this.functions.length - 1, f: builder }
  }

  toBytes(): Uint8Array<ArrayBuffer> {
    const out: Array<number> = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
    // type section
    {
      const body: Array<number> = []
      writeU32(body, this.typeBytes.length)
      for (const t of this.typeBytes) for (const b of t) body.push(b)
      writeSection(out, 1, body)
    }
    // import section
    if (this.memory !== undefined) {
      const m = this.memory
      const body: Array<number> = []
      writeU32(body, 1)
      writeName(body, m.module)
      writeName(body, m.name)
      body.push(0x02)
      if (m.shared) {
        body.push(0x03)
        writeU32(body, m.initial)
        writeU32(body, m.maximum ?? m.initial)
      } else if (m.maximum !== undefined) {
        body.push(0x01)
        writeU32(body, m.initial)
        writeU32(body, m.maximum)
      } else {
        body.push(0x00)
        writeU32(body, m.initial)
      }
      writeSection(out, 2, body)
    }
    // function section
    {
      const body: Array<number> = []
      writeU32(body, this.functions.length)
      for (const f of this.functions) writeU32(body, f.typeIndex)
      writeSection(out, 3, body)
    }
    // export section
    {
      const exported = this.functions.map((f, i) => [f, i] as const).filter(([f]) => f.name !== undefined)
      const body: Array<number> = []
      writeU32(body, exported.length)
      for (const [f, i] of exported) {
        writeName(body, f.name as string)
        body.push(0x00)
        writeU32(body, i)
      }
      writeSection(out, 7, body)
    }
    // code section
    {
      const body: Array<number> = []
      writeU32(body, this.functions.length)
      for (const f of this.functions) {
        const code = f.builder.encode()
        writeU32(body, code.length)
        for (const b of code) body.push(b)
      }
      writeSection(out, 10, body)
    }
    return new Uint8Array(out)
  }
}
