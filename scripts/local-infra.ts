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

/** Where one set of local services lives: its ports and its state folder. */
export interface InfraProfile {
  name: string;
  kafkaBrokers: string;
  kafkaControllerPort: number;
  redisUrl: string;
  databaseUrl: string;
  /** The state folder, from the checkout's root. */
  dir(root: string): string;
}

/**
 * The sets `scripts/infra.ts` can run (`INFRA_PROFILE`): `default` is what `infra:up` starts for
 * development and the tests; `faults` is a private set the fault harness (test/faults/) kills and
 * restarts, on ports of its own so the shared services are never touched.
 */
export const PROFILES: Record<"default" | "faults", InfraProfile> = {
  default: { name: "default", ...LOCAL, dir: (root) => `${root}/.infra` },
  faults: {
    name: "faults",
    kafkaBrokers: "127.0.0.1:29092",
    kafkaControllerPort: 29093,
    redisUrl: "redis://127.0.0.1:26379",
    databaseUrl: "postgres://alpha:alpha@127.0.0.1:25432/alpha",
    dir: (root) => `${root}/.infra/faults`,
  },
};
