// The execution stage's Bun Worker: the stage is built from src/, this file only starts it.
import { runStageWorker } from "../src/stage/runtime.ts";

runStageWorker();
