/** `pnpm example diamond`: the 3-4-1 sigmoid network on the diamond, 20,000 gradient-descent steps. */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./diamond.js"

runExample("diamond", run(fullConfig))
