/**
 * Splits records into produce requests grouped by topic, in order. kafkajs groups a request's
 * messages per partition in O(n²) unless connectors/kafka/kafkajs.ts replaced that (it does, with
 * kafkajs-produce-encoding.ts): requests were kept at 1000 records for it. Now the bound is what one
 * record batch may hold (a partition's records of a request form one batch, which must stay under the
 * broker's message.max.bytes, 1 MiB by default): at most 10,000 records or 768 Ki chars of keys and
 * values per request, so the final burst of a window stage goes out in tens of requests, not hundreds.
 */
import type { Message, TopicMessages } from 'kafkajs';

const REQUEST_MESSAGES = 10_000;
/** UTF-16 units of keys and values per request (ASCII: bytes). */
const REQUEST_CHARS = 768 * 1024;

export interface TopicRecord extends Message {
  topic: string;
  value: string | null;
}

/** Requests of at most 10,000 records or 768 Ki chars (at least one record each); records are passed as is, uncopied. */
export function produceRequests(records: readonly TopicRecord[]): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let start = 0;
  while (start < records.length) {
    const topics = new Map<string, TopicMessages>();
    let end = start;
    let chars = 0;
    while (end < records.length && end - start < REQUEST_MESSAGES) {
      const r = records[end] as TopicRecord;
      chars += (r.value?.length ?? 0) + (typeof r.key === 'string' ? r.key.length : (r.key?.length ?? 0));
      if (chars > REQUEST_CHARS && end > start) break;
      let t = topics.get(r.topic);
      if (t === undefined) {
        t = { topic: r.topic, messages: [] };
        topics.set(r.topic, t);
      }
      // kafkajs reads key, value, partition and headers and ignores the rest.
      t.messages.push(r);
      end += 1;
    }
    requests.push([...topics.values()]);
    start = end;
  }
  return requests;
}
