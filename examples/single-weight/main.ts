/** `pnpm example single-weight`: y = 2x by batch GD, SGD, grad, and a linear layer with sgd. */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./single-weight.js"

runExample("single-weight", run(fullConfig))
