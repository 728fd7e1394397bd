/** `pnpm example activations`: activation functions and their derivatives from vmap(grad). */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./activations.js"

runExample("activations", run(fullConfig))
