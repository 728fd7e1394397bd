/** `pnpm example mnist-cnn [epochs] [batchSize]`: the LeNet-style CNN with ReLU, dropout and Adam. */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./mnist-cnn.js"

const [epochs, batchSize] = process.argv.slice(2).map(Number)
runExample("mnist-cnn", run({ ...fullConfig, epochs: epochs || fullConfig.epochs, batchSize: batchSize || fullConfig.batchSize }))
