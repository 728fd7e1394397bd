/** `pnpm example mnist-improved [epochs]`: Nielsen's chapter-3 network (cross-entropy, L2, early stopping). */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./mnist-improved.js"

const epochs = Number(process.argv[2])
runExample("mnist-improved", run({ ...fullConfig, epochs: epochs || fullConfig.epochs }))
