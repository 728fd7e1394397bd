/** `pnpm example linear-regression`: batch GD, SGD and the pseudo-inverse on y = 1.5 + 2x₁ + 5x₂ + ε. */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./linear-regression.js"

runExample("linear-regression", run(fullConfig))
