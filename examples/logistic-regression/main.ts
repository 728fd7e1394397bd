/** `pnpm example logistic-regression`: linear + sigmoid + BCE + sgd on pass/fail by hours. */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./logistic-regression.js"

runExample("logistic-regression", run(fullConfig))
