import { Effect } from "effect"
import { fullConfig, train } from "./mnist-mlp.js"
import { loadMnist } from "../mnist.js"
const dtype = process.argv[2] as "float32" | "float64"
const seeds = process.argv.slice(3).map(Number)
const prog = Effect.gen(function* () {
  const data = yield* loadMnist({})
  for (const seed of seeds) {
    const r = yield* train({ ...fullConfig, seed, dtype }, data)
    console.log(JSON.stringify({ dtype, seed, final: r.accuracies.at(-1), best: Math.max(...r.accuracies), accs: r.accuracies }))
  }
})
Effect.runPromise(prog as any).catch((e) => { console.error(e); process.exit(1) })
