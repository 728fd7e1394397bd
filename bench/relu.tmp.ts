import * as cpu from "../packages/core/src/backend/cpu/index.js"
import { ArrayValue } from "../packages/core/src/interpreter/ndarray.js"
const n = 368640
const a = ArrayValue.fromBuffer(new Float32Array(n).map(() => Math.random() - 0.5), "float32", [n])
const b = ArrayValue.fromBuffer(new Float32Array(n).map(() => Math.random() - 0.5), "float32", [n])
const z = new ArrayValue(Float32Array.of(0), "float32", [n], [0], 0)
const h = new ArrayValue(Float32Array.of(0.5), "float32", [n], [0], 0)
const time = (name: string, f: () => unknown) => { for (let i = 0; i < 50; i++) f(); const t0 = performance.now(); for (let i = 0; i < 200; i++) f(); console.log(name, ((performance.now() - t0) / 200 * 1000).toFixed(0), "µs") }
time("alloc 1.47MB", () => new Float32Array(n))
time("relu bwd expr", () => cpu.mapNew("$0 * Math.fround(Math.fround((($1 > $2 ? 1 : 0))) + Math.fround(Math.fround((($1 === $3 ? 1 : 0))) * $4))", false, [a, b, z, z, h], [n], "float32"))
time("select expr", () => cpu.mapNew("($1 > $2 ? $0 : 0)", false, [a, b, z], [n], "float32"))
time("mul", () => cpu.mapNew("$0 * $1", false, [a, b], [n], "float32"))
const out = new Float32Array(n)
time("raw loop reuse", () => { const x = a.buffer, y = b.buffer; for (let i = 0; i < n; i++) out[i] = x[i] * y[i] })
time("relu bwd +()", () => cpu.mapNew("$0 * Math.fround(Math.fround((+($1 > $2))) + Math.fround(Math.fround((+($1 === $3))) * $4))", false, [a, b, z, z, h], [n], "float32"))
time("select sorted data", () => cpu.mapNew("($1 > $2 ? $0 : 0)", false, [a, ArrayValue.fromBuffer(b.buffer.slice().sort(), "float32", [n]), z], [n], "float32"))
time("select via mul +()", () => cpu.mapNew("$0 * (+($1 > $2))", false, [a, b, z], [n], "float32"))
time("Math.max(x,0)", () => cpu.mapNew("Math.max($0, 0)", false, [a], [n], "float32"))
