/**
 * `pnpm example mnist-mlp [hidden] [epochs] [seed]`: Nielsen's chapter-1
 * network (default 30 hidden neurons, 30 epochs, seed 0; `pnpm example
 * mnist-mlp 100` for the 100-neuron variant).
 */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./mnist-mlp.js"

const [hidden, epochs, seed] = process.argv.slice(2).map(Number)
runExample(
  "mnist-mlp",
  run({ ...fullConfig, hidden: hidden || fullConfig.hidden, epochs: epochs || fullConfig.epochs, seed: Number.isInteger(seed) ? seed : fullConfig.seed })
)
