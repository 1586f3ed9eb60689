import { KafkaLog } from "../../src/log/kafka.ts";
import { infra, needs } from "../support/infra.ts";
import { processorSuite } from "./processor.ts";

// Real Kafka: the DLQ, dedup and retry behaviour must be the same on the broker users deploy.
if (await needs("kafka")) processorSuite("Kafka", async () => new KafkaLog({ brokers: infra.kafkaBrokers.split(",") }));
