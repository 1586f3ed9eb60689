import { KafkaLog } from "../../src/log/kafka.ts";
import { infra, needs } from "../support/infra.ts";
import { processorSuite } from "./processor.ts";
import { slowTests } from "../support/timeout.ts";

// Stores, services and processes: more than bun test's default 5 s a test (test/support/timeout.ts).
slowTests();

// Real Kafka: the DLQ, dedup and retry behaviour must be the same on the broker users deploy.
if (await needs("kafka")) processorSuite("Kafka", async () => new KafkaLog({ brokers: infra.kafkaBrokers.split(",") }));
