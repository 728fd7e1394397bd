import * as cpu from "../packages/core/src/backend/cpu/index.js"
import { ArrayValue } from "../packages/core/src/interpreter/ndarray.js"
import { NdArray } from "@gradfx/core"
const n = 78400
const a = ArrayValue.fromBuffer(new Float32Array(n).fill(1), "float32", [784, 100])
const b = ArrayValue.fromBuffer(new Float32Array(n).fill(2), "float32", [784, 100])
const s = NdArray.broadcastTo(NdArray.scalar(0.1), [784, 100]) as ArrayValue
const c = ArrayValue.fromBuffer(new Float32Array(n).fill(0.1), "float32", [784, 100])
const time = (name: string, f: () => unknown) => { for (let i = 0; i < 300; i++) f(); const t0 = performance.now(); for (let i = 0; i < 2000; i++) f(); console.log(name, ((performance.now() - t0) / 2000 * 1000).toFixed(1), "µs") }
time("alloc", () => new Float32Array(n))
time("fused bcast", () => cpu.mapNew("$0 - Math.fround($1 * $2)", false, [a, b, s], [784, 100], "float32"))
time("fused contiguous", () => cpu.mapNew("$0 - Math.fround($1 * $2)", false, [a, b, c], [784, 100], "float32"))
time("fused nofround", () => cpu.mapNew("$0 - $1 * $2", false, [a, b, c], [784, 100], "float32"))
time("plain loop", () => { const o = new Float32Array(n); const x = a.buffer, y = b.buffer, z = c.buffer; for (let i = 0; i < n; i++) o[i] = x[i] - Math.fround(y[i] * z[i]); return o })
const out = new Float32Array(n)
time("loop into reused", () => { const x = a.buffer, y = b.buffer, z = c.buffer; for (let i = 0; i < n; i++) out[i] = x[i] - Math.fround(y[i] * z[i]); return out })
time("fill reused", () => out.fill(0))
const pool: Float32Array[] = []
time("alloc+drop small 1000", () => new Float32Array(1000))
time("loop 2", () => { const x = a.buffer, y = b.buffer, z = c.buffer; for (let i = 0; i < n; i++) out[i] = x[i] - y[i] * z[i]; return out })
