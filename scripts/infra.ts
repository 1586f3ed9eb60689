/**
 * Local Kafka, PostgreSQL and Redis for development and integration tests, without Docker.
 *
 *   bun run infra:up            start what is not running yet, wait until each answers, print the env
 *   bun run infra:down          stop what infra:up started (data is kept: topics and tables survive)
 *   bun run infra:down --clean  stop, then delete .infra/
 *   bun scripts/infra.ts status say what runs and whether it answers (exit 1 if something does not)
 *
 * Everything listens on 127.0.0.1 at the ports of scripts/local-infra.ts and keeps its state
 * (data, logs, pid files) under .infra/. `INFRA_PROFILE=faults` runs a second, private set on
 * other ports with its state under .infra/faults/ (the fault harness, test/faults/, kills and
 * restarts those; importable as {@link infraFor}). Each service runs as a detached process of its own
 * session, so it outlives this script; its pid is recorded in .infra/<service>/<service>.pid and
 * `down` signals exactly that pid, never a process found by name. PostgreSQL and Redis come from
 * Debian's packages (installed with apt-get when missing) but we never use their system services;
 * Kafka's jars come from Maven Central through scripts/kafka/pom.xml.
 */
import { Admin } from "@platformatic/kafka";
import postgres from "postgres";
import {
  chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { PROFILES, type InfraProfile } from "./local-infra.ts";

const ROOT = resolve(import.meta.dir, "..");
const KAFKA_DIR = join(ROOT, "scripts/kafka");
const HOST = "127.0.0.1";

export type ServiceName = "kafka" | "postgres" | "redis";

interface Service {
  name: ServiceName;
  /** what `up` prints for it */
  address: string;
  dir: string;
  ports: number[];
  /** text in the process's command line: guards against a recycled pid */
  marker: string;
  /** PostgreSQL's fast shutdown is SIGINT (SIGTERM would wait for every client to disconnect) */
  stopSignal: NodeJS.Signals;
  readyTimeoutMs: number;
  start(): Promise<number>;
  /** whether it answers as clients use it */
  answers(): Promise<boolean>;
  /** whether it is ready after a start; defaults to answers() */
  ready?(): Promise<boolean>;
  /** state kept outside the profile's folder, removed by `down --clean` */
  externalDir?(): string | undefined;
}

const pidFile = (s: Service) => join(s.dir, `${s.name}.pid`);
const logFile = (s: Service) => join(s.dir, `${s.name}.log`);
const rel = (path: string) => relative(process.cwd(), path) || ".";

// ---------------------------------------------------------------------------------------------
// Processes

/** Runs a command to completion; throws with its output when it fails. */
async function run(what: string, cmd: string[], opts: { cwd?: string; uid?: number; gid?: number } = {}) {
  const proc = Bun.spawn(cmd, { ...opts, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited,
  ]);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${(out + err).trim()}`);
  return out;
}

/**
 * Starts a long-running process in a new session (setsid), so it survives this script and a
 * Ctrl-C in the terminal, with stdout and stderr appended to its log. Returns its pid.
 */
function spawnDetached(cmd: string[], log: string, opts: { cwd?: string; uid?: number; gid?: number } = {}) {
  const fd = openSync(log, "a");
  try {
    const proc = Bun.spawn(cmd, { ...opts, detached: true, stdio: ["ignore", fd, fd] });
    proc.unref();
    return proc.pid;
  } finally {
    closeSync(fd);
  }
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, but not ours to signal
  }
}

/** Alive and not a zombie. */
function aliveNotZombie(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return !existsSync("/proc/self"); // no procfs (not Linux): the pid is all we can check
  }
}

/** Alive (not a zombie) and still the process we started, judged by its command line. */
function isOurs(pid: number, marker: string): boolean {
  if (!aliveNotZombie(pid)) return false;
  const proc = `/proc/${pid}`;
  if (!existsSync(proc)) return true; // no procfs (not Linux): the pid is all we can check
  try {
    return readFileSync(`${proc}/cmdline`, "utf8").replaceAll("\0", " ").includes(marker);
  } catch {
    return false; // exited between the checks
  }
}

/** A process we started with setsid leads its own group: kill the group, so its children go too. */
function killGroup(pid: number, signal: NodeJS.Signals) {
  let target = pid;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (pgrp === pid) target = -pid;
  } catch {}
  try {
    process.kill(target, signal);
  } catch {}
}

async function waitExit(pid: number, marker: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (isOurs(pid, marker)) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(100);
  }
  return true;
}

function tail(file: string, lines = 25) {
  if (!existsSync(file)) return "(no log yet)";
  return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
}

/** Whether anything accepts a TCP connection on the port. */
function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      done(ok);
    };
    Bun.connect({
      hostname: HOST,
      port,
      socket: { open: (s) => (s.end(), finish(true)), data() {}, error: () => finish(false), connectError: () => finish(false) },
    }).catch(() => finish(false));
  });
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL's user and where it can keep its data

/** Debian installs the server under /usr/lib/postgresql/<version>/bin, outside PATH. */
function pgBin(): string | undefined {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base)
    ? readdirSync(base).filter((v) => existsSync(join(base, v, "bin/initdb"))).sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0]) return join(base, versions[0], "bin");
  const initdb = Bun.which("initdb");
  return initdb ? dirname(initdb) : undefined;
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user the package creates. */
function pgOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("running as root, but there is no `postgres` user to run PostgreSQL as");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Whether `user` can enter and write `dir` (every parent folder must let it through). */
async function reachableBy(dir: string, user: { uid: number; gid: number }): Promise<boolean> {
  const proc = Bun.spawn(["test", "-x", dir, "-a", "-w", dir], { cwd: "/", uid: user.uid, gid: user.gid, stdio: ["ignore", "ignore", "ignore"] });
  return (await proc.exited) === 0;
}

/**
 * Where PostgreSQL's data goes when the checkout is closed to its user (a clone under root's
 * mode-700 home): a folder of its own under /var/lib, named from a hash of the checkout's state
 * folder so two checkouts never share one.
 */
const PG_ELSEWHERE = "/var/lib/alpha-panda";

/** The three services of one profile (default: .infra/ and the ports of LOCAL). */
function servicesOf(p: InfraProfile): Record<ServiceName, Service> {
  const INFRA = p.dir(ROOT);
  const kafkaPort = Number(p.kafkaBrokers.split(":")[1]);
  const redisPort = Number(new URL(p.redisUrl).port);
  const db = new URL(p.databaseUrl);
  const pgPort = Number(db.port);

  // ---------------------------------------------------------------------------------------------
  // Kafka: one KRaft process that is both broker and controller

  const kafkaDir = join(INFRA, "kafka");
  const kafkaProps = join(kafkaDir, "server.properties");
  const kafkaData = join(kafkaDir, "data");

  /** The broker's classpath, resolved by Maven (jars cached in ~/.m2) and cached until the pom changes. */
  async function kafkaClasspath(): Promise<string> {
    const pom = join(KAFKA_DIR, "pom.xml");
    const cache = join(kafkaDir, "classpath.txt");
    if (existsSync(cache) && statSync(cache).mtimeMs >= statSync(pom).mtimeMs) {
      const cp = readFileSync(cache, "utf8").trim();
      if (cp && cp.split(":").every((jar) => existsSync(jar))) return cp;
    }
    console.log("kafka: resolving the broker's jars with Maven (the first run downloads them)…");
    await run("mvn dependency:build-classpath (scripts/kafka/pom.xml)", [
      "mvn", "-q", "-B", "-f", pom, "dependency:build-classpath", `-Dmdep.outputFile=${cache}`,
    ]);
    return readFileSync(cache, "utf8").trim();
  }

  /** A Kafka cluster id: 16 random bytes, base64url. One starting with "-" would read as an option. */
  function clusterId(): string {
    for (;;) {
      const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
      if (!id.startsWith("-")) return id;
    }
  }

  const kafka: Service = {
    name: "kafka",
    address: `${p.kafkaBrokers} (KRaft controller ${HOST}:${p.kafkaControllerPort})`,
    dir: kafkaDir,
    ports: [kafkaPort, p.kafkaControllerPort],
    marker: kafkaProps,
    stopSignal: "SIGTERM",
    readyTimeoutMs: 120_000, // a cold JVM on a small machine takes a while
    async start() {
      const cp = await kafkaClasspath();
      // Rewritten on every start: this file is generated, the code here is the source of truth.
      writeFileSync(kafkaProps, [
        "process.roles=broker,controller",
        "node.id=1",
        `controller.quorum.bootstrap.servers=${HOST}:${p.kafkaControllerPort}`,
        `listeners=PLAINTEXT://${p.kafkaBrokers},CONTROLLER://${HOST}:${p.kafkaControllerPort}`,
        // Kafka 4's dynamic quorum wants the controller endpoint advertised too.
        `advertised.listeners=PLAINTEXT://${p.kafkaBrokers},CONTROLLER://${HOST}:${p.kafkaControllerPort}`,
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        `log.dirs=${kafkaData}`,
        // One broker: every internal topic has a single replica.
        "default.replication.factor=1",
        "min.insync.replicas=1",
        "offsets.topic.replication.factor=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        // Tests create and join groups all the time: don't wait 3 s before the first rebalance.
        "group.initial.rebalance.delay.ms=0",
        // Topics come from the topic table (bun run topics), never from a typo in a client.
        "auto.create.topics.enable=false",
        "",
      ].join("\n"));

      const java = (...args: string[]) => [
        "java",
        "-Xms256m", "-Xmx512m", // the machine is small; a dev broker needs little
        "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        `-Dlog4j2.configurationFile=${join(KAFKA_DIR, "log4j2.properties")}`,
        "-cp", cp, ...args,
      ];
      if (!existsSync(join(kafkaData, "meta.properties"))) {
        // First start: format the storage as a standalone controller quorum of this one node.
        await run("formatting Kafka storage (kafka.tools.StorageTool)", java(
          "kafka.tools.StorageTool", "format", "--config", kafkaProps, "--cluster-id", clusterId(), "--standalone",
        ));
      }
      return spawnDetached(java("kafka.Kafka", kafkaProps), logFile(kafka), { cwd: kafkaDir });
    },
    async answers() {
      // A Metadata request that lists the broker: it has registered with the controller and serves.
      const admin = new Admin({
        clientId: "alpha-panda-infra", bootstrapBrokers: [p.kafkaBrokers], retries: 0, connectTimeout: 1000, requestTimeout: 3000,
      });
      try {
        return (await admin.metadata({ topics: [] })).brokers.size > 0;
      } finally {
        await admin.close().catch(() => {});
      }
    },
  };

  // ---------------------------------------------------------------------------------------------
  // PostgreSQL: our own cluster (initdb), not the system's

  const pgDir = join(INFRA, "postgres"); // log and pid file, always in the checkout
  /** Names the folder holding data/ and run/ when it is not pgDir (recorded at the first start). */
  const pgHomeRecord = join(pgDir, "data-dir");
  const pgHome = () => (existsSync(pgHomeRecord) ? readFileSync(pgHomeRecord, "utf8").trim() : pgDir);
  const pgData = () => join(pgHome(), "data");
  const pgRun = () => join(pgHome(), "run"); // the unix socket, away from the system's /var/run/postgresql

  /**
   * As root, PostgreSQL runs as `postgres`, which cannot enter a checkout under a mode-700 folder
   * (initdb: "could not access directory … Permission denied"). Then its data lives under
   * PG_ELSEWHERE instead, recorded in pgHomeRecord so later starts and `down --clean` find it.
   */
  async function placeData(owner: { uid: number; gid: number }): Promise<void> {
    mkdirSync(pgDir, { recursive: true });
    chownSync(pgDir, owner.uid, owner.gid);
    if (existsSync(pgHomeRecord) || (await reachableBy(pgDir, owner))) return;
    const home = join(PG_ELSEWHERE, `${p.name}-${createHash("sha256").update(pgDir).digest("hex").slice(0, 16)}`);
    mkdirSync(PG_ELSEWHERE, { recursive: true, mode: 0o755 });
    mkdirSync(home, { recursive: true, mode: 0o700 });
    chownSync(home, owner.uid, owner.gid);
    if (!(await reachableBy(home, owner))) {
      throw new Error(
        `PostgreSQL runs as the \`postgres\` user (uid ${owner.uid}), which can reach neither ${rel(pgDir)} (a parent folder is closed to it) ` +
          `nor ${home}; make the checkout's parent folders enterable (chmod o+x) or run infra:up as a user other than root`,
      );
    }
    writeFileSync(pgHomeRecord, `${home}\n`);
    console.log(`postgres: ${rel(pgDir)} is closed to the \`postgres\` user (a parent folder is mode 700?); its data lives in ${home} (removed by \`infra:down --clean\`)`);
  }

  /** The superuser over our unix socket (trusted: only the socket's owner reaches it). */
  const pgSuperuser = () =>
    postgres({ host: pgRun(), port: pgPort, username: "postgres", database: "postgres", max: 1, connect_timeout: 2, onnotice: () => {} });

  const pg: Service = {
    name: "postgres",
    address: `${HOST}:${pgPort}`,
    dir: pgDir,
    ports: [pgPort],
    get marker() {
      return pgData();
    },
    externalDir: () => (existsSync(pgHomeRecord) ? pgHome() : undefined),
    stopSignal: "SIGINT",
    readyTimeoutMs: 60_000,
    async start() {
      const bin = pgBin();
      if (!bin) throw new Error("PostgreSQL's initdb was not found (apt-get install postgresql)");
      const owner = pgOwner();
      if (owner) await placeData(owner);
      const [home, data, sock] = [pgHome(), pgData(), pgRun()];
      mkdirSync(sock, { recursive: true, mode: 0o700 });
      if (owner) for (const dir of [home, sock]) chownSync(dir, owner.uid, owner.gid);
      if (!existsSync(join(data, "PG_VERSION"))) {
        await run("initdb", [
          join(bin, "initdb"), "-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C", // C: no locale packages needed
          "--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions",
        ], { cwd: home, ...owner });
      }
      // Settings on the command line, so they hold whatever postgresql.conf says.
      return spawnDetached([
        join(bin, "postgres"), "-D", data,
        "-c", `listen_addresses=${HOST}`, "-c", `port=${pgPort}`, "-c", `unix_socket_directories=${sock}`,
      ], logFile(pg), { cwd: home, ...owner });
    },
    async ready() {
      // Create the role and database of DATABASE_URL if missing (first start), then log in with it.
      const sql = pgSuperuser();
      try {
        const user = decodeURIComponent(db.username);
        const password = decodeURIComponent(db.password).replaceAll("'", "''");
        const database = db.pathname.slice(1);
        if ((await sql`select 1 from pg_roles where rolname = ${user}`).length === 0) {
          await sql.unsafe(`create role "${user}" login password '${password}'`);
        }
        if ((await sql`select 1 from pg_database where datname = ${database}`).length === 0) {
          await sql.unsafe(`create database "${database}" owner "${user}"`);
        }
      } finally {
        await sql.end();
      }
      return this.answers();
    },
    async answers() {
      const sql = postgres(p.databaseUrl, { max: 1, connect_timeout: 2, onnotice: () => {} });
      try {
        return (await sql`select 1 as ok`)[0]?.ok === 1;
      } finally {
        await sql.end();
      }
    },
  };

  // ---------------------------------------------------------------------------------------------
  // Redis: a cache, so nothing is persisted

  const redisDir = join(INFRA, "redis");
  const redisConf = join(redisDir, "redis.conf");

  const redis: Service = {
    name: "redis",
    address: `${HOST}:${redisPort}`,
    dir: redisDir,
    ports: [redisPort],
    marker: redisConf,
    stopSignal: "SIGTERM",
    readyTimeoutMs: 15_000,
    async start() {
      writeFileSync(redisConf, [
        `port ${redisPort}`,
        `bind ${HOST}`,
        "daemonize no", // detached by us, so the pid we record is the server's
        'logfile ""', // stdout, which goes to redis.log
        `dir ${redisDir}`,
        'save ""',
        "appendonly no",
        // Redis rewrites its command line; keep the config path in it, which is how we recognise our pid.
        'proc-title-template "{title} {listen-addr} {config-file}"',
        "",
      ].join("\n"));
      return spawnDetached(["redis-server", redisConf], logFile(redis), { cwd: redisDir });
    },
    answers() {
      return new Promise((done) => {
        const timer = setTimeout(() => done(false), 2000);
        const finish = (ok: boolean) => (clearTimeout(timer), done(ok));
        Bun.connect({
          hostname: HOST,
          port: redisPort,
          socket: {
            open: (s) => void s.write("PING\r\n"),
            data: (s, chunk) => (s.end(), finish(chunk.toString().startsWith("+PONG"))),
            error: () => finish(false),
            connectError: () => finish(false),
          },
        }).catch(() => finish(false));
      });
    },
  };

  return { kafka, postgres: pg, redis };
}


// ---------------------------------------------------------------------------------------------
// Commands

/** Installs, with apt-get, what the services need and this machine lacks. */
async function installMissing() {
  const needs: [boolean, string][] = [
    [!Bun.which("java"), "default-jre-headless"],
    [!Bun.which("mvn"), "maven"],
    [!pgBin(), "postgresql"],
    [!Bun.which("redis-server"), "redis-server"],
    // The browser tests' browser: Debian's, never a downloaded build.
    [!Bun.which("chromium"), "chromium"],
  ];
  const packages = needs.filter(([missing]) => missing).map(([, pkg]) => pkg);
  if (packages.length === 0) return;
  if (!Bun.which("apt-get")) throw new Error(`missing: ${packages.join(", ")}; install them (no apt-get here)`);
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  console.log(`installing ${packages.join(" ")} with apt-get…`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const cmd of [["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", ...packages]]) {
    const code = await Bun.spawn([...sudo, ...cmd], { env, stdio: ["ignore", "inherit", "inherit"] }).exited;
    if (code !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${code})`);
  }
}

async function waitReady(s: Service, pid: number) {
  const deadline = Date.now() + s.readyTimeoutMs;
  let lastError = "";
  for (;;) {
    try {
      if (await (s.ready ?? s.answers).call(s)) return;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    // When it has exited, the log says why; when it hangs, so may the last failed probe. Only
    // the pid is checked here, not the command line: a child forked to drop to another user (as
    // root, PostgreSQL runs as `postgres`) shows this script's command line until its exec, and
    // a first probe refused at once read that as "exited" while the server went on starting.
    const why = !aliveNotZombie(pid)
      ? "exited while starting"
      : Date.now() > deadline
        ? `did not answer within ${s.readyTimeoutMs / 1000} s (last error: ${lastError || "none"}); ` +
          "it may still be starting, `bun run infra:down` (with its INFRA_PROFILE) stops it"
        : undefined;
    if (why) throw new Error(`${s.name} ${why}\n--- ${rel(logFile(s))} (last lines) ---\n${tail(logFile(s))}`);
    await Bun.sleep(250);
  }
}

async function up(s: Service): Promise<string> {
  mkdirSync(s.dir, { recursive: true });
  const running = readPid(pidFile(s));
  if (running && isOurs(running, s.marker)) {
    await waitReady(s, running);
    return `already running, pid ${running}`;
  }
  for (const port of s.ports) {
    if (await portOpen(port)) {
      throw new Error(`${s.name}: port ${port} on ${HOST} is taken by a process that infra:up did not start; stop it first`);
    }
  }
  const pid = await s.start();
  writeFileSync(pidFile(s), `${pid}\n`); // at once, so `down` can stop it even if it never gets ready
  await waitReady(s, pid);
  return `started, pid ${pid}`;
}

async function down(s: Service): Promise<string> {
  const pid = readPid(pidFile(s));
  if (!pid || !isOurs(pid, s.marker)) {
    rmSync(pidFile(s), { force: true });
    return "not running";
  }
  // The graceful signal goes to the server alone: it stops its own children.
  process.kill(pid, s.stopSignal);
  let how = "stopped";
  if (!(await waitExit(pid, s.marker, 30_000))) {
    killGroup(pid, "SIGKILL");
    how = "killed (did not stop within 30 s)";
    if (!(await waitExit(pid, s.marker, 5_000))) throw new Error(`${s.name}: pid ${pid} survives SIGKILL`);
  }
  rmSync(pidFile(s), { force: true });
  return `${how}, pid ${pid}`;
}

/** Runs the command for every service at once; reports each; fails if any failed. */
async function each(services: Service[], action: (s: Service) => Promise<string>, quiet = false): Promise<boolean> {
  const results = await Promise.allSettled(services.map(action));
  results.forEach((r, i) => {
    const name = services[i]!.name.padEnd(9);
    if (r.status === "fulfilled") {
      if (!quiet) console.log(`${name} ${r.value}`);
    } else console.error(`${name} FAILED: ${r.reason instanceof Error ? r.reason.message : r.reason}`);
  });
  return results.every((r) => r.status === "fulfilled");
}

/** One up/down at a time per profile: two concurrent starts would race for the ports and the pid files. */
async function locked<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, "lock");
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const holder = readPid(lock); // undefined: being written right now
    if (holder !== undefined && !alive(holder)) {
      rmSync(lock, { force: true }); // left by a run that was killed
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another infra:up/down (pid ${holder}) still holds ${rel(lock)}`);
    await Bun.sleep(250);
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** One profile's services, for scripts and the fault harness. */
export interface Infra {
  profile: InfraProfile;
  /** The settings a gateway or a test uses to reach them. */
  env: { KAFKA_BROKERS: string; REDIS_URL: string; DATABASE_URL: string };
  /** Starts what is not running and waits until each answers; false (with the reasons printed) if one failed. */
  up(opts?: { quiet?: boolean }): Promise<boolean>;
  /** Stops what `up` started (by pid); `clean` also deletes the state. */
  down(opts?: { clean?: boolean; quiet?: boolean }): Promise<boolean>;
  /** Whether every service runs (started by us) and answers. */
  running(): Promise<boolean>;
  /** The recorded pid of a service we started and that still runs. */
  pid(name: ServiceName): number | undefined;
  /** kill -9 of the service's process group, by its recorded pid; resolves once it is gone. */
  kill(name: ServiceName): Promise<number>;
  /** Starts one service again (the same start and readiness code as `up`); resolves when it answers. */
  start(name: ServiceName): Promise<string>;
}

/**
 * @example
 * const infra = infraFor("faults");
 * if (!(await infra.running())) await infra.up();
 * await infra.kill("kafka"); await Bun.sleep(15_000); await infra.start("kafka");
 */
export function infraFor(name: keyof typeof PROFILES = "default"): Infra {
  const profile = PROFILES[name];
  if (!profile) throw new Error(`unknown INFRA_PROFILE ${JSON.stringify(name)} (known: ${Object.keys(PROFILES).join(", ")})`);
  const dir = profile.dir(ROOT);
  const byName = servicesOf(profile);
  const services = Object.values(byName);
  const pidOf = (n: ServiceName) => {
    const s = byName[n];
    const pid = readPid(pidFile(s));
    return pid !== undefined && isOurs(pid, s.marker) ? pid : undefined;
  };
  return {
    profile,
    env: { KAFKA_BROKERS: profile.kafkaBrokers, REDIS_URL: profile.redisUrl, DATABASE_URL: profile.databaseUrl },
    up: ({ quiet = false } = {}) => locked(dir, async () => (await installMissing(), each(services, up, quiet))),
    down: async ({ clean = false, quiet = false } = {}) => {
      if (!existsSync(dir)) return true;
      return locked(dir, async () => {
        if (!(await each(services, down, quiet))) return false;
        if (clean) {
          for (const s of services) {
            const elsewhere = s.externalDir?.();
            if (!elsewhere) continue;
            rmSync(elsewhere, { recursive: true, force: true });
            if (!quiet) console.log(`removed ${elsewhere}`);
            if (readdirSync(dirname(elsewhere)).length === 0) rmSync(dirname(elsewhere), { recursive: true, force: true });
          }
          removeState(dir, quiet);
        }
        return true;
      });
    },
    running: async () => {
      for (const s of services) if (pidOf(s.name) === undefined || !(await s.answers().catch(() => false))) return false;
      return true;
    },
    pid: pidOf,
    kill: async (n) => {
      const s = byName[n];
      const pid = pidOf(n);
      if (pid === undefined) throw new Error(`${n} (profile ${profile.name}) is not running as started by infra.ts`);
      killGroup(pid, "SIGKILL");
      if (!(await waitExit(pid, s.marker, 10_000))) throw new Error(`${n}: pid ${pid} survives SIGKILL`);
      // Until its parent reaps it the pid still exists, and PostgreSQL would take its own
      // postmaster.pid for a live server; a restart waits for the pid to be gone.
      for (const deadline = Date.now() + 10_000; alive(pid) && Date.now() < deadline; ) await Bun.sleep(50);
      rmSync(pidFile(s), { force: true });
      return pid;
    },
    start: (n) => locked(dir, () => up(byName[n])),
  };
}

/**
 * Deletes a profile's state folder. Another profile's folder inside it (.infra/faults in .infra/)
 * is left alone: its services may be running.
 */
function removeState(dir: string, quiet: boolean) {
  const nested = new Set(Object.values(PROFILES).map((p) => p.dir(ROOT)).filter((d) => d !== dir && dirname(d) === dir));
  const kept = [...nested].filter((d) => existsSync(d));
  if (kept.length === 0) rmSync(dir, { recursive: true, force: true });
  else for (const entry of readdirSync(dir)) if (!nested.has(join(dir, entry))) rmSync(join(dir, entry), { recursive: true, force: true });
  if (!quiet) console.log(`removed ${rel(dir)}${kept.length ? ` (kept ${kept.map(rel).join(", ")}: another profile's)` : ""}`);
}

async function main() {
  const [command = "up", ...flags] = Bun.argv.slice(2);
  const infra = infraFor((process.env.INFRA_PROFILE?.trim() || "default") as keyof typeof PROFILES);
  const services = Object.values(servicesOf(infra.profile));
  const dir = infra.profile.dir(ROOT);
  const down = infra.profile.name === "default" ? "bun run infra:down" : `INFRA_PROFILE=${infra.profile.name} bun scripts/infra.ts down`;
  const started = performance.now();
  switch (command) {
    case "up": {
      if (!(await infra.up())) {
        console.error(`\ninfra:up failed; what did start keeps running (\`${down}\` stops it).`);
        return 1;
      }
      console.log(`\nready in ${((performance.now() - started) / 1000).toFixed(1)} s:`);
      for (const s of services) console.log(`  ${s.name.padEnd(9)} ${s.address.padEnd(50)} log ${rel(logFile(s))}`);
      const env = Object.entries(infra.env).map(([k, v]) => `${k}=${v}`).join("\n");
      console.log(`\nthe environment to use${infra.profile.name === "default" ? " (the tests default to it)" : ""}:\n${env}`);
      return 0;
    }
    case "down": {
      if (!existsSync(dir)) return (console.log("nothing to stop"), 0);
      return (await infra.down({ clean: flags.includes("--clean") })) ? 0 : 1;
    }
    case "status": {
      let allAnswer = true;
      await each(services, async (s) => {
        const pid = readPid(pidFile(s));
        const ours = pid !== undefined && isOurs(pid, s.marker);
        const answers = await s.answers().catch(() => false);
        allAnswer &&= answers;
        return `${ours ? `running, pid ${pid}` : "not started by infra:up"}; ${s.address} ${answers ? "answers" : "does not answer"}`;
      });
      return allAnswer ? 0 : 1;
    }
    default:
      console.error("usage: [INFRA_PROFILE=default|faults] bun scripts/infra.ts up | down [--clean] | status");
      return 2;
  }
}

if (import.meta.main) {
  try {
    process.exit(await main());
  } catch (e) {
    console.error(`infra: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}
