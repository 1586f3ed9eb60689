/**
 * Where `bun run infra:up` puts the local services: loopback only, on ports of our own so they
 * never collide with a system PostgreSQL or Redis. docker-compose.yml publishes the same ports,
 * so these URLs work with either.
 *
 * @example
 * import { LOCAL } from "../scripts/local-infra.ts";
 * const redis = new Redis(LOCAL.redisUrl);
 */
export const LOCAL = {
  kafkaBrokers: "127.0.0.1:19092",
  kafkaControllerPort: 19093,
  redisUrl: "redis://127.0.0.1:16379",
  databaseUrl: "postgres://alpha:alpha@127.0.0.1:15432/alpha",
} as const;
