import { MemoryBroker, MemoryLog } from "../../src/log/memory.ts";
import { processorSuite } from "./processor.ts";

const broker = new MemoryBroker();
processorSuite("in-process log", async () => new MemoryLog(broker));
