#!/usr/bin/env node
// Local single-node Apache Kafka (KRaft, broker+controller in one JVM) for development and tests.
//
//   node scripts/kafka.mjs up       fetch (Maven, first time only), format, start, wait until it answers.
//                                   Prints KAFKA_STARTED=true|false (whether this call started it) and,
//                                   as its last line, KAFKA_BOOTSTRAP=127.0.0.1:<port>. Run again while
//                                   it is up: the same address again.
//   node scripts/kafka.mjs down     stop (SIGTERM, then SIGKILL after a timeout) and remove the data
//   node scripts/kafka.mjs status   print the state; exit 0 when up and answering, 1 otherwise
//   node scripts/kafka.mjs produce <topic> [--bootstrap=host:port]
//                                   sends the `key<TAB>value` lines of stdin to <topic> with the Java
//                                   client (scripts/ProduceLines.java): bulk test data, far faster than
//                                   kafkajs. Default bootstrap: this broker. Prints the record count.
//
// For test runs (test/global-setup.ts), which may run side by side and share one broker:
//   node scripts/kafka.mjs up --lease=<pid>   as `up`, and records that process <pid> uses it
//   node scripts/kafka.mjs release <pid>      drops that lease; the last run to release a broker that
//                                             test runs started stops it. One brought up by hand
//                                             (`up` without --lease) stays up until `down`.
//
// Environment:
//   SLUICE_KAFKA_HOME            cache and state dir (default: <repo>/.cache/kafka, gitignored)
//   SLUICE_KAFKA_VERSION         org.apache.kafka:kafka_2.13 version (default: the pinned one below,
//                                see docs/kafka-versions.md)
//   SLUICE_KAFKA_HEAP            JVM heap flags (default: -Xms128m -Xmx512m)
//   SLUICE_KAFKA_START_TIMEOUT_MS  how long `up` waits for the broker to answer (default 90000)
//   SLUICE_KAFKA_STOP_TIMEOUT_MS   how long `down` waits after SIGTERM before SIGKILL (default 30000)
//   JAVA_HOME, MAVEN_OPTS        honoured as usual (java/mvn are otherwise taken from PATH)
//
// Nothing is downloaded except through Maven (the broker jars) and npm (kafkajs, already a dependency).

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Newest broker version on which kafkajs passes the transactional test (test/kafka/broker.test.ts).
const DEFAULT_KAFKA_VERSION = '4.4.0';
const LOG4J_VERSION = '2.25.3';
const SLF4J_VERSION = '2.0.17';
const DEPENDENCY_PLUGIN_VERSION = '3.8.1';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOME = path.resolve(process.env.SLUICE_KAFKA_HOME || path.join(REPO_ROOT, '.cache', 'kafka'));
const VERSION = process.env.SLUICE_KAFKA_VERSION || DEFAULT_KAFKA_VERSION;
const HEAP = (process.env.SLUICE_KAFKA_HEAP || '-Xms128m -Xmx512m').split(/\s+/).filter(Boolean);
const START_TIMEOUT_MS = Number(process.env.SLUICE_KAFKA_START_TIMEOUT_MS || 90_000);
const STOP_TIMEOUT_MS = Number(process.env.SLUICE_KAFKA_STOP_TIMEOUT_MS || 30_000);
const HOST = '127.0.0.1';

const DIST_DIR = path.join(HOME, `kafka-${VERSION}`); // pom.xml + libs/ (kept between runs)
const LIBS_DIR = path.join(DIST_DIR, 'libs');
const LIBS_OK = path.join(DIST_DIR, 'libs.ok');
const RUN_DIR = path.join(HOME, 'run'); // state of the running broker (removed by `down`)
const DATA_DIR = path.join(RUN_DIR, 'data');
const STATE_FILE = path.join(RUN_DIR, 'state.json');
const LOG_FILE = path.join(HOME, 'broker.log'); // kept after `down` for a post-mortem
const LOCK_FILE = path.join(HOME, 'lock');
const LEASES_DIR = path.join(HOME, 'leases'); // one file per test run using a broker it may stop

const log = (msg) => process.stderr.write(`[kafka] ${msg}\n`);

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Fetching the broker through Maven

function javaBin() {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function checkTool(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `${what} is missing: \`${cmd} ${args.join(' ')}\` failed` +
        (r.error ? ` (${r.error.code || r.error.message})` : ` (exit ${r.status})`) +
        `. The local Kafka broker needs Java 17+ and Maven 3 on PATH (or JAVA_HOME set).`,
    );
  }
  return `${r.stdout || ''}${r.stderr || ''}`;
}

function pomXml() {
  const dep = (g, a, v) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/kafka.mjs: the runtime classpath of a single Apache Kafka ${VERSION} broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.sluice</groupId>
  <artifactId>kafka-broker-runtime</artifactId>
  <version>${VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', VERSION)}
${dep('org.slf4j', 'slf4j-api', SLF4J_VERSION)}
${dep('org.apache.logging.log4j', 'log4j-api', LOG4J_VERSION)}
${dep('org.apache.logging.log4j', 'log4j-core', LOG4J_VERSION)}
${dep('org.apache.logging.log4j', 'log4j-slf4j2-impl', LOG4J_VERSION)}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>${DEPENDENCY_PLUGIN_VERSION}</version>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

function checkJava() {
  const out = checkTool(javaBin(), ['-version'], 'Java');
  const m = /version "(\d+)(?:\.(\d+))?/.exec(out);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : NaN;
  if (!(major >= 17)) {
    throw new Error(`Apache Kafka 4.x needs Java 17 or newer; \`${javaBin()} -version\` says: ${out.split('\n')[0]}`);
  }
}

function ensureLibs() {
  const pomFile = path.join(DIST_DIR, 'pom.xml');
  const pom = pomXml();
  const samePom = fs.existsSync(pomFile) && fs.readFileSync(pomFile, 'utf8') === pom;
  if (samePom && fs.existsSync(LIBS_OK) && fs.existsSync(LIBS_DIR)) return;
  checkTool('mvn', ['-v'], 'Maven');
  fs.mkdirSync(DIST_DIR, { recursive: true });
  fs.rmSync(LIBS_OK, { force: true });
  fs.writeFileSync(pomFile, pom);
  fs.rmSync(LIBS_DIR, { recursive: true, force: true });
  log(`fetching Apache Kafka ${VERSION} through Maven into ${LIBS_DIR} ...`);
  const t0 = Date.now();
  const r = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      pomFile,
      `org.apache.maven.plugins:maven-dependency-plugin:${DEPENDENCY_PLUGIN_VERSION}:copy-dependencies`,
      `-DoutputDirectory=${LIBS_DIR}`,
      '-DincludeScope=runtime',
    ],
    { cwd: DIST_DIR, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 },
  );
  if (r.error || r.status !== 0) {
    const out = `${r.stdout || ''}${r.stderr || ''}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(
      `mvn dependency:copy-dependencies for org.apache.kafka:kafka_2.13:${VERSION} failed` +
        (r.error ? ` (${r.error.message})` : ` (exit ${r.status})`) +
        `${out ? `:\n${out}` : ''}`,
    );
  }
  const jars = fs.readdirSync(LIBS_DIR).filter((f) => f.endsWith('.jar'));
  if (!jars.some((f) => f.startsWith(`kafka_2.13-${VERSION}`))) {
    throw new Error(`Maven finished but ${LIBS_DIR} holds no kafka_2.13-${VERSION}.jar`);
  }
  // slf4j-api 1.7 (what kafka-clients declares) would shadow the slf4j 2 binding: keep only ours.
  for (const f of jars) {
    if (/^slf4j-api-1\./.test(f)) fs.rmSync(path.join(LIBS_DIR, f));
  }
  fs.writeFileSync(LIBS_OK, `${new Date().toISOString()}\n`);
  log(`fetched ${jars.length} jars in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

// ---------------------------------------------------------------------------------------------
// Broker configuration

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function clusterId() {
  // A Kafka Uuid: 16 random bytes, base64url without padding. Kafka's own generator avoids ids
  // starting with '-' (they read as a flag); do the same.
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties({ port, controllerPort }) {
  const props = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${HOST}:${controllerPort}`,
    listeners: `PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': DATA_DIR,
    // One node: every internal topic has one replica.
    'num.partitions': '1',
    'default.replication.factor': '1',
    'min.insync.replicas': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '5',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '5',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'true',
    'delete.topic.enable': 'true',
    // Small and quick: this broker lives for a test run.
    'log.segment.bytes': String(16 * 1024 * 1024),
    'log.retention.hours': '24',
    'log.cleaner.dedupe.buffer.size': String(8 * 1024 * 1024),
    'num.network.threads': '2',
    'num.io.threads': '4',
    'background.threads': '4',
    'num.recovery.threads.per.data.dir': '1',
    'transaction.max.timeout.ms': '900000',
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

function log4jProperties() {
  return `status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${LOG_FILE.replace(/\\/g, '/')}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
`;
}

function jvmArgs() {
  return [
    ...HEAP,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(RUN_DIR, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${RUN_DIR}`,
    '-cp',
    `${LIBS_DIR}${path.sep}*`,
  ];
}

function formatStorage(id) {
  // The storage tool moved between releases; try the known class names in order.
  const classes = ['kafka.tools.StorageTool', 'org.apache.kafka.tools.StorageTool'];
  let last = '';
  for (const cls of classes) {
    const r = spawnSync(
      javaBin(),
      [...jvmArgs(), cls, 'format', '-t', id, '-c', path.join(RUN_DIR, 'server.properties'), '--ignore-formatted'],
      { encoding: 'utf8' },
    );
    const out = `${r.stdout || ''}${r.stderr || ''}`;
    if (r.status === 0) return;
    last = out;
    if (!/(Could not find or load main class|ClassNotFoundException)/.test(out)) break;
  }
  throw new Error(`formatting KRaft storage failed:\n${last.trim().split('\n').slice(-30).join('\n')}`);
}

// ---------------------------------------------------------------------------------------------
// Process and state helpers

function readState() {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8'));
  } catch {
    return undefined;
  }
}

function isAlive(pid) {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (e.code !== 'EPERM') return false;
  }
  // Guard against a recycled pid: on Linux check that it is still our broker.
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('kafka.Kafka') && cmd.includes(RUN_DIR);
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tail(file, lines = 60) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function loadKafkajs() {
  try {
    return (await import('kafkajs')).default;
  } catch (e) {
    throw new Error(`kafkajs is not installed (run \`npm ci\`): ${e.message}`);
  }
}

/** One describeCluster round trip; resolves true when the broker answers with a controller. */
async function answers(port, timeoutMs = 3000) {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({
    clientId: 'sluice-kafka-probe',
    brokers: [`${HOST}:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    return c.brokers.length > 0 && c.controller !== null && c.controller !== -1;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Creates and loads the group and transaction coordinators (__consumer_offsets, __transaction_state)
 * so the first consumer group or transactional producer of a test does not meet "coordinator is
 * loading" retries. Returns undefined when done, or the last error message at the deadline.
 */
async function warmUp(port, deadline) {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({
    clientId: 'sluice-kafka-warmup',
    brokers: [`${HOST}:${port}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const steps = [
    async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.describeGroups(['sluice-kafka-warmup']);
      } finally {
        await admin.disconnect().catch(() => {});
      }
    },
    async () => {
      const p = kafka.producer({ transactionalId: 'sluice-kafka-warmup', idempotent: true, maxInFlightRequests: 1 });
      await p.connect(); // InitProducerId on the transaction coordinator
      await p.disconnect().catch(() => {});
    },
  ];
  let last;
  for (const step of steps) {
    for (;;) {
      try {
        await step();
        break;
      } catch (e) {
        last = e.message;
        if (Date.now() > deadline) return last;
        await sleep(200);
      }
    }
  }
  return undefined;
}

async function withLock(fn) {
  fs.mkdirSync(HOME, { recursive: true });
  const deadline = Date.now() + START_TIMEOUT_MS + 10 * 60_000; // a cold Maven fetch may hold it long
  for (;;) {
    try {
      fs.writeFileSync(LOCK_FILE, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      const holder = Number(fs.readFileSync(LOCK_FILE, 'utf8').trim() || 0);
      let holderAlive = holder > 0 && pidAlive(holder);
      if (holderAlive) {
        // A recycled pid is not a holder: on Linux check that it still runs this script.
        try {
          holderAlive = fs.readFileSync(`/proc/${holder}/cmdline`, 'utf8').includes('kafka.mjs');
        } catch {
          /* no /proc: trust kill(0) */
        }
      }
      if (!holderAlive) {
        fs.rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK_FILE} (held by pid ${holder})`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK_FILE, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

async function stopPid(pid, timeoutMs = STOP_TIMEOUT_MS) {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return;
    await sleep(200);
  }
  log(`broker pid ${pid} did not stop within ${timeoutMs} ms; sending SIGKILL`);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
}

async function startOnce(owner) {
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();

  fs.rmSync(RUN_DIR, { recursive: true, force: true });
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(path.join(RUN_DIR, 'server.properties'), serverProperties({ port, controllerPort }));
  fs.writeFileSync(path.join(RUN_DIR, 'log4j2.properties'), log4jProperties());
  fs.writeFileSync(LOG_FILE, '');

  formatStorage(clusterId());

  const out = fs.openSync(LOG_FILE, 'a');
  const child = spawn(javaBin(), [...jvmArgs(), 'kafka.Kafka', path.join(RUN_DIR, 'server.properties')], {
    cwd: RUN_DIR,
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  child.unref();
  const state = { pid: child.pid, port, controllerPort, version: VERSION, owner, startedAt: new Date().toISOString() };
  fs.writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await answers(port)) {
      const err = await warmUp(port, deadline);
      if (!err) return { ok: true, state };
      const logTail = tail(LOG_FILE);
      await stopPid(child.pid);
      return { ok: false, message: `the broker answered but its coordinators did not load (${err}). Last lines of ${LOG_FILE}:\n${logTail}` };
    }
    await sleep(300);
  }
  const logTail = tail(LOG_FILE);
  await stopPid(child.pid);
  const bindClash = /Address already in use|BindException/.test(logTail);
  const why = exited
    ? `the broker exited (code ${exited.code}, signal ${exited.signal})`
    : `the broker did not answer on ${HOST}:${port} within ${START_TIMEOUT_MS} ms`;
  return { ok: false, bindClash, message: `${why}. Last lines of ${LOG_FILE}:\n${logTail}` };
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Live lease holders (pids); leases of processes that died are dropped. */
function liveLeases() {
  let names = [];
  try {
    names = fs.readdirSync(LEASES_DIR);
  } catch {
    return [];
  }
  const live = [];
  for (const n of names) {
    const pid = Number(n);
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) live.push(pid);
    else fs.rmSync(path.join(LEASES_DIR, n), { force: true });
  }
  return live;
}

function parseLease(args) {
  const a = args.find((x) => x.startsWith('--lease'));
  if (!a) return undefined;
  const pid = Number(a.split('=')[1]);
  if (!Number.isInteger(pid) || pid <= 0) throw new UsageError('--lease=<pid of the process holding it>');
  return pid;
}

/**
 * `up` alone: the broker stays up until `down` (owner "manual").
 * `up --lease=<pid>` (a test run): the broker is shared by every run holding a lease, and the last
 * one to `release` stops it, unless it was started (or later brought up) without a lease.
 */
async function up(args) {
  const lease = parseLease(args);
  const lines = await withLock(async () => {
    const leaseIt = (state) => {
      if (lease) {
        fs.mkdirSync(LEASES_DIR, { recursive: true });
        fs.writeFileSync(path.join(LEASES_DIR, String(lease)), `${new Date().toISOString()}\n`);
      } else if (state.owner !== 'manual') {
        state.owner = 'manual'; // someone asked for it by hand: it outlives the test runs
        fs.writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
      }
    };
    const s = readState();
    if (s && isAlive(s.pid)) {
      // Patient: a busy machine (a test run beside it) can slow one answer; never restart a broker
      // someone is using on a single missed probe.
      const deadline = Date.now() + 20_000;
      let ok = await answers(s.port, 5000);
      while (!ok && Date.now() < deadline && isAlive(s.pid)) {
        await sleep(500);
        ok = await answers(s.port, 5000);
      }
      if (ok) {
        if (s.version !== VERSION) log(`note: the running broker is Kafka ${s.version}, not ${VERSION}`);
        leaseIt(s);
        return [`KAFKA_STARTED=false`, `KAFKA_BOOTSTRAP=${HOST}:${s.port}`];
      }
      log(`broker pid ${s.pid} is running but does not answer on ${HOST}:${s.port}; restarting it`);
      await stopPid(s.pid);
    }
    checkJava();
    ensureLibs();
    log(`starting Apache Kafka ${VERSION} (KRaft, single node) ...`);
    const t0 = Date.now();
    let r = await startOnce(lease ? 'tests' : 'manual');
    if (!r.ok && r.bindClash) {
      log('a port was taken between picking and binding; retrying with new ports');
      r = await startOnce(lease ? 'tests' : 'manual');
    }
    if (!r.ok) {
      fs.rmSync(STATE_FILE, { force: true });
      throw new Error(`Kafka ${VERSION} failed to start: ${r.message}`);
    }
    leaseIt(r.state);
    log(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s: pid ${r.state.pid}, log ${LOG_FILE}`);
    return [`KAFKA_STARTED=true`, `KAFKA_BOOTSTRAP=${HOST}:${r.state.port}`];
  });
  // The bootstrap line is always the last line of output.
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Drops the lease of <pid>; stops the broker if test runs started it and no run holds a lease. */
async function release(args) {
  const pid = Number(args[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new UsageError('usage: node scripts/kafka.mjs release <pid>');
  await withLock(async () => {
    fs.rmSync(path.join(LEASES_DIR, String(pid)), { force: true });
    const s = readState();
    const others = liveLeases();
    if (!s || s.owner !== 'tests' || others.length > 0) {
      if (s && others.length > 0) log(`left up: still used by ${others.length} other test run(s)`);
      return;
    }
    // Within vitest's 10 s teardown budget: the data is thrown away anyway.
    await stopBroker(s, Math.min(STOP_TIMEOUT_MS, 7000));
  });
}

async function stopBroker(s, timeoutMs = STOP_TIMEOUT_MS) {
  if (s && isAlive(s.pid)) {
    log(`stopping broker pid ${s.pid} ...`);
    await stopPid(s.pid, timeoutMs);
    if (isAlive(s.pid)) throw new Error(`broker pid ${s.pid} is still alive after SIGKILL`);
    log('stopped');
  } else {
    log('not running');
  }
  fs.rmSync(RUN_DIR, { recursive: true, force: true });
  fs.rmSync(LEASES_DIR, { recursive: true, force: true });
}

async function down() {
  await withLock(async () => {
    const n = liveLeases().length;
    if (n > 0) log(`note: ${n} test run(s) were using this broker`);
    await stopBroker(readState());
  });
}

async function status() {
  const s = readState();
  if (!s) {
    process.stdout.write('kafka: down\n');
    return 1;
  }
  const alive = isAlive(s.pid);
  const ok = alive && (await answers(s.port, 5000));
  process.stdout.write(
    `kafka: ${ok ? 'up' : alive ? 'running but not answering' : 'down (stale state)'}\n` +
      `version: ${s.version}\npid: ${s.pid}\nstarted: ${s.startedAt} (${s.owner === 'tests' ? `by test runs, ${liveLeases().length} using it` : 'by hand'})\nlog: ${LOG_FILE}\n` +
      (ok ? `KAFKA_BOOTSTRAP=${HOST}:${s.port}\n` : ''),
  );
  return ok ? 0 : 1;
}

async function produce(args) {
  const topic = args.find((a) => !a.startsWith('--'));
  const flag = args.find((a) => a.startsWith('--bootstrap='));
  if (!topic) throw new UsageError('usage: node scripts/kafka.mjs produce <topic> [--bootstrap=host:port]  (lines key<TAB>value on stdin)');
  let bootstrap = flag?.slice('--bootstrap='.length);
  if (!bootstrap) {
    const s = readState();
    if (!s || !(await answers(s.port))) throw new Error('no local broker is up: run `node scripts/kafka.mjs up`, or pass --bootstrap=host:port');
    bootstrap = `${HOST}:${s.port}`;
  }
  checkJava();
  ensureLibs();
  // compiled once into the cache (a source launch would compile it on every call)
  const source = path.join(REPO_ROOT, 'scripts', 'ProduceLines.java');
  const classes = path.join(DIST_DIR, 'tools');
  const compiled = path.join(classes, 'ProduceLines.class');
  if (!fs.existsSync(compiled) || fs.statSync(compiled).mtimeMs < fs.statSync(source).mtimeMs) {
    const javac = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'javac') : 'javac';
    const r = spawnSync(javac, ['-d', classes, '-cp', path.join(LIBS_DIR, '*'), source], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`cannot compile ${source}: ${r.error?.message ?? r.stderr}`);
  }
  const child = spawn(
    javaBin(),
    ['-Dlog4j2.level=WARN', '-XX:TieredStopAtLevel=1', '-cp', `${classes}${path.delimiter}${path.join(LIBS_DIR, '*')}`, 'ProduceLines', bootstrap, topic],
    { stdio: ['inherit', 'inherit', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

async function main(argv) {
  const cmd = argv[0];
  switch (cmd) {
    case 'produce':
      return produce(argv.slice(1));
    case 'up':
      await up(argv.slice(1));
      return 0;
    case 'release':
      await release(argv.slice(1));
      return 0;
    case 'down':
      await down();
      return 0;
    case 'status':
      return status();
    default:
      throw new UsageError(`usage: node scripts/kafka.mjs up [--lease=<pid>] | down | status | release <pid> | produce <topic>   (got: ${cmd ?? 'nothing'})`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[kafka] error: ${err instanceof UsageError ? err.message : err.message || err}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
