// Types flow through a job's chain as a user's editor sees them; compiled (not run) by test/api/types.test.ts.
import { StreamingContext, type DStream, type PageVisit, type PairDStream } from 'sluice';

/** true when A and B are the same type, false otherwise. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
function assertType<T extends true>(): T | undefined {
  return undefined;
}

const ssc = new StreamingContext({ batchInterval: 1000 });
const visits = ssc.generator({ ratePerSecond: 10 });
assertType<Equal<typeof visits, DStream<PageVisit>>>();

// sources
assertType<Equal<ReturnType<typeof ssc.queueStream<{ id: number }>>, DStream<{ id: number }>>>();
const lines = ssc.fileStream('app.log', { format: 'lines' });
assertType<Equal<typeof lines, DStream<string>>>();
const rows = ssc.fileStream('visits.csv', { format: 'csv' });
assertType<Equal<typeof rows, DStream<string[]>>>();
const named = ssc.fileStream('visits.csv', { format: 'csv', header: true });
assertType<Equal<typeof named, DStream<Record<string, string>>>>();
const events = ssc.fileStream<{ page: string; ms: number }>('events.jsonl', { format: 'jsonl' });
assertType<Equal<typeof events, DStream<{ page: string; ms: number }>>>();

// narrow verbs
const lengths = visits.map((v) => v.page.length);
assertType<Equal<typeof lengths, DStream<number>>>();
const long = visits.filter((v) => v.durationMs > 1000);
assertType<Equal<typeof long, DStream<PageVisit>>>();
const words = lines.flatMap((l) => l.split(' '));
assertType<Equal<typeof words, DStream<string>>>();

// pairs and keyed verbs
const pairs = visits.mapToPair((v) => [v.page, v.durationMs]);
assertType<Equal<typeof pairs, PairDStream<string, number>>>();
const byUser = visits.keyBy((v) => v.userId);
assertType<Equal<typeof byUser, PairDStream<number, PageVisit>>>();
const columnar = visits.pairs('page', 'durationMs');
assertType<Equal<typeof columnar, PairDStream<string, number>>>();
const longest = byUser.reduceByKey((a, b) => (a.durationMs > b.durationMs ? a : b));
assertType<Equal<typeof longest, PairDStream<number, PageVisit>>>();
const summed = pairs.reduceByKey('sum');
assertType<Equal<typeof summed, PairDStream<string, number>>>();
const counted = byUser.countByKey();
assertType<Equal<typeof counted, PairDStream<string, number>>>();
const seconds = pairs.mapValues((ms) => `${ms / 1000} s`);
assertType<Equal<typeof seconds, PairDStream<string, string>>>();
const busy = pairs.filter(([, ms]) => ms > 60_000);
assertType<Equal<typeof busy, PairDStream<string, number>>>();
const totals = summed.updateStateByKey('sum');
assertType<Equal<typeof totals, PairDStream<string, number>>>();
const sessions = byUser.updateStateByKey((vs: PageVisit[], s: { n: number } | undefined) => ({ n: (s?.n ?? 0) + vs.length }));
assertType<Equal<typeof sessions, PairDStream<number, { n: number }>>>();

// outputs
totals.foreachBatch((batch, time) => {
  assertType<Equal<typeof batch, [string, number][]>>();
  assertType<Equal<typeof time, number>>();
});
sessions.saveAsTextFiles('out/sessions', 'csv', { format: ([user, s]) => `${user},${s.n}` });

// what the types refuse
// @ts-expect-error: a built-in sum needs number values
byUser.reduceByKey('sum');
// @ts-expect-error: pairs takes values only from number fields
visits.pairs('page', 'page');
// @ts-expect-error: pairs keys only by string or number fields
ssc.queueStream<{ tags: string[]; n: number }>([]).pairs('tags', 'n');
// @ts-expect-error: map's function gets a PageVisit, not a string
visits.map((v: string) => v);
// @ts-expect-error: a reduce function combines two values of the pair's value type
pairs.reduceByKey((a: string, b: string) => a + b);
// @ts-expect-error: the rows of a PairDStream<string, number> are [string, number] pairs
totals.foreachBatch((batch: Array<[number, number]>) => batch);
