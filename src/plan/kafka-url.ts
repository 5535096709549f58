// `kafka://HOST:PORT[,HOST:PORT]/TOPIC[?group=G]`: where a Kafka source, sink or dead-letter topic lives.

import { OptionError } from '../errors.js';

export interface KafkaUrl {
  /** Bootstrap brokers, `host:port` each. */
  brokers: string[];
  topic: string;
  /** Consumer group (`?group=`), for inputs. */
  group: string | undefined;
}

/** Legal Kafka topic names: 1-249 of [a-zA-Z0-9._-], not `.` or `..`. */
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9.-]+):(\d{1,5})$/;

/** What is wrong with a list of `host:port` bootstrap brokers, or undefined when nothing is. */
function brokerListProblem(brokers: string[]): string | undefined {
  for (const b of brokers) {
    const m = HOST_PORT.exec(b);
    if (!m) return `"${b}" is not HOST:PORT`;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return `port ${port} is out of range`;
  }
  return undefined;
}

/** Parses `HOST:PORT[,HOST:PORT]` given to `option` (e.g. `sluice demo --kafka`); throws OptionError naming it. */
export function parseBrokerList(raw: string, option: string): string[] {
  const brokers = raw.split(',');
  const why = raw === '' ? 'it is empty' : brokerListProblem(brokers);
  if (why) throw new OptionError(option, `${option} must be HOST:PORT[,HOST:PORT], got "${raw}": ${why}`);
  return brokers;
}

export function isKafkaUrl(s: string | undefined): boolean {
  return typeof s === 'string' && s.toLowerCase().startsWith('kafka://');
}

/** Parses a kafka:// URL given to `option`; throws OptionError naming the option and what is wrong. */
export function parseKafkaUrl(raw: string, option: string, allowGroup: boolean): KafkaUrl {
  const bad = (why: string): never => {
    throw new OptionError(
      option,
      `${option}: malformed Kafka URL "${raw}": ${why} (expected kafka://HOST:PORT[,HOST:PORT]/TOPIC${allowGroup ? '[?group=G]' : ''})`,
    );
  };
  if (!isKafkaUrl(raw)) bad('it must start with kafka://');
  let rest = raw.slice('kafka://'.length);
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  const slash = rest.indexOf('/');
  if (slash < 0) bad('no /TOPIC');
  const hosts = rest.slice(0, slash);
  const topic = decodeURIComponent(rest.slice(slash + 1));
  if (hosts === '') bad('no HOST:PORT');
  const brokers = hosts.split(',');
  const why = brokerListProblem(brokers);
  if (why) bad(why);
  if (topic === '') bad('no topic after the /');
  if (!TOPIC.test(topic) || topic === '.' || topic === '..') {
    bad(`"${topic}" is not a legal topic name (1-249 of a-z A-Z 0-9 . _ -)`);
  }
  let group: string | undefined;
  if (query !== '') {
    const params = new URLSearchParams(query);
    for (const [k, v] of params) {
      if (k === 'group' && allowGroup) {
        if (v === '') bad('group= is empty');
        group = v;
      } else {
        bad(`unknown parameter "${k}"${allowGroup ? ' (only group= is known)' : ''}`);
      }
    }
  }
  return { brokers, topic, group };
}
