import * as cpu from "../packages/core/src/backend/cpu/index.js"
import { ArrayValue } from "../packages/core/src/interpreter/ndarray.js"
const n = 368640
const a = ArrayValue.fromBuffer(new Float32Array(n).map(() => Math.random() - 0.5), "float32", [n])
const b = ArrayValue.fromBuffer(new Float32Array(n).map(() => Math.random() - 0.5), "float32", [n])
const z = new ArrayValue(Float32Array.of(0), "float32", [n], [0], 0)
const time = (name: string, f: () => unknown) => { for (let i = 0; i < 50; i++) f(); const t0 = performance.now(); for (let i = 0; i < 200; i++) f(); console.log(name, ((performance.now() - t0) / 200 * 1000).toFixed(0), "µs") }
const e = process.argv[2]
time(e, () => cpu.mapNew(e, false, [a, b, z], [n], "float32"))
