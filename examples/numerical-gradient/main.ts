/** `pnpm example numerical-gradient`: central differences beside grad and checkGrads, and the gradient field. */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./numerical-gradient.js"

runExample("numerical-gradient", run(fullConfig))
