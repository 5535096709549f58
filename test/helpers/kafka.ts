// Test helper: the Kafka broker started by test/global-setup.ts, and a describe() that needs it.

import { randomBytes } from 'node:crypto';
import { describe, inject, it } from 'vitest';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';

const isCI = (): boolean => !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/** host:port of the broker for this run, or undefined when there is none. */
export function kafkaBootstrap(): string | undefined {
  let v: string | undefined;
  try {
    v = inject('kafkaBootstrap');
  } catch {
    v = undefined; // not under the vitest runner's globalSetup
  }
  return v || process.env.KAFKA_BOOTSTRAP || undefined;
}

/** Why there is no broker, for messages. */
export function kafkaUnavailableReason(): string {
  let why: string | undefined;
  try {
    why = inject('kafkaUnavailable');
  } catch {
    why = undefined;
  }
  return why || 'no Kafka broker: KAFKA_BOOTSTRAP is not set and test/global-setup.ts did not provide one';
}

/** The bootstrap address, or a thrown error that says why there is none. */
export function requireKafkaBootstrap(): string {
  const b = kafkaBootstrap();
  if (!b) throw new Error(kafkaUnavailableReason());
  return b;
}

/**
 * describe() for tests that need the real broker. Without one it is describe.skip with a loud
 * reason, except under CI=true, where it never skips: the suite fails with the reason instead.
 */
export function describeKafka(name: string, fn: () => void): void {
  if (kafkaBootstrap()) {
    describe(name, fn);
    return;
  }
  const why = kafkaUnavailableReason();
  if (isCI()) {
    describe(name, () => {
      it('needs a Kafka broker', () => {
        throw new Error(`CI=true: ${why}`);
      });
    });
    return;
  }
  process.stderr.write(`\n!!! SKIPPING Kafka tests "${name}": ${why}\n\n`);
  describe.skip(`${name} [SKIPPED: ${why}]`, fn);
}

/**
 * kafkajs's log level for test clients: silent by default (kafkajs logs every retried protocol
 * error, e.g. "coordinator is loading", at ERROR); KAFKAJS_LOG_LEVEL=error|warn|info|debug to see them.
 */
export function testLogLevel(): logLevel {
  const name = (process.env.KAFKAJS_LOG_LEVEL || 'nothing').toUpperCase() as keyof typeof logLevel;
  return logLevel[name] ?? logLevel.NOTHING;
}

/** A kafkajs client on the test broker. */
export function kafkaClient(clientId = 'sluice-test', extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers: [requireKafkaBootstrap()],
    logLevel: testLogLevel(),
    ...extra,
  });
}

/** A name no other test (or earlier run on the same broker) has used: `${prefix}-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
