const n = 12800
const x = new Float32Array(n).map(() => Math.random() * 8 - 4)
const out = new Float32Array(n)
const logistic = (x: number): number => { if (x >= 0) return 1 / (1 + Math.exp(-x)); const e = Math.exp(x); return e / (1 + e) }
const time = (name: string, f: () => unknown) => { for (let i = 0; i < 300; i++) f(); const t0 = performance.now(); for (let i = 0; i < 2000; i++) f(); console.log(name, ((performance.now() - t0) / 2000 * 1000).toFixed(1), "µs", ((performance.now() - t0) / 2000 * 1e6 / n).toFixed(2), "ns/elem") }
time("exp", () => { for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]) })
time("logistic helper", () => { for (let i = 0; i < n; i++) out[i] = logistic(x[i]) })
time("1/(1+exp(-x))", () => { for (let i = 0; i < n; i++) out[i] = 1 / (1 + Math.exp(-x[i])) })
time("tanh", () => { for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]) })
time("copy", () => { for (let i = 0; i < n; i++) out[i] = x[i] })
