/** `pnpm example resnet [width]`: ResNet-34's parameters and a 224×224 forward pass, then a small ResNet on MNIST for one epoch. */
import { runExample } from "../runtime.js"
import { fullConfig, run } from "./resnet.js"

const width = Number(process.argv[2])
runExample("resnet", run({ ...fullConfig, width: width || fullConfig.width }))
