// Which Kafka messages the decoders' good records came from, batch by batch, without an object per record.
//
//   messages   0 1 2 3 4 5 6 7 8 9          every message is one record line (src/sources/kafka-staging.ts)
//   skips          2       6                 no record: empty value, or rejected before decoding
//   bad                  5                   the decoder reported its record bad (in input order)
//   records    0 1   3 4     7 8 9           good records, in order: take(3) = [0,2) [3,4), take(4) = [4,5) [7,10)
//
// Ranges are what the hot path iterates: with no skip and no bad record (the common case) a batch is one
// range, and its message keys are a view into the chunk's key columns.

export type MessageRange = readonly [start: number, end: number];

export class KafkaRecordMap {
  private readonly messages: number;
  private readonly skips: Uint32Array;
  private skipAt = 0;
  private readonly bad: number[] = [];
  private badAt = 0;
  /** First message not given to a record or passed over yet. */
  private next = 0;

  constructor(messages: number, skips: Uint32Array) {
    this.messages = messages;
    this.skips = skips;
  }

  /** The record of message `m` was bad. Reported in input order, before the good records after it are taken. */
  addBad(m: number): void {
    if (m < this.next || (this.bad.length > 0 && m <= this.bad[this.bad.length - 1]!)) {
      throw new Error(`KafkaRecordMap.addBad(${m}): out of order (next message ${this.next})`);
    }
    this.bad.push(m);
  }

  /** The message ranges of the next `n` good records, ascending. */
  take(n: number): MessageRange[] {
    const ranges: MessageRange[] = [];
    while (n > 0) {
      const skip = this.skipAt < this.skips.length ? this.skips[this.skipAt]! : Number.POSITIVE_INFINITY;
      const bad = this.badAt < this.bad.length ? this.bad[this.badAt]! : Number.POSITIVE_INFINITY;
      const stop = Math.min(skip, bad, this.messages);
      if (stop > this.next) {
        const end = Math.min(stop, this.next + n);
        ranges.push([this.next, end]);
        n -= end - this.next;
        this.next = end;
        continue;
      }
      if (this.next >= this.messages) throw new Error(`KafkaRecordMap.take: ${n} more records than messages`);
      if (skip === this.next) this.skipAt++;
      if (bad === this.next) this.badAt++;
      this.next++;
    }
    return ranges;
  }
}
