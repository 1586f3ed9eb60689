/**
 * `bun run gateway`: validates the configuration, starts the gateway, and shuts it down
 * gracefully on SIGINT or SIGTERM (exit 0), or exits 1 if the shutdown overran its timeout.
 */
import { loadConfig, modeOf, redactedConfig } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { createLogger } from "../src/logger.ts";
import { startGateway } from "./runtime.ts";

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`alpha-panda: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const logger = createLogger({ level: config.logLevel, name: "gateway" });
logger.info({ mode: modeOf(config), config: redactedConfig(config) }, "starting");

const gateway = await startGateway(config, logger, process.env).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`alpha-panda: ${err.message}`);
    process.exit(2);
  }
  logger.fatal({ err }, "gateway failed to start");
  process.exit(1);
});

let signalled = false;
const shutdown = (signal: string) => {
  if (signalled) return;
  signalled = true;
  logger.info({ signal }, "shutting down");
  const overrun = setTimeout(() => {
    logger.error({ timeout_ms: config.shutdownTimeoutMs }, "shutdown overran its timeout; exiting");
    process.exit(1);
  }, config.shutdownTimeoutMs);
  gateway.stop().then(
    () => {
      clearTimeout(overrun);
      process.exit(0);
    },
    (err: unknown) => {
      logger.error({ err }, "error during shutdown");
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGTERM", () => shutdown("SIGTERM"));
