/**
 * Splits records into produce requests grouped by topic, in order. kafkajs groups a request's
 * messages per partition in O(n²) (groupMessagesPerPartition copies the list for every message):
 * a 20,000-message request cost ~35 µs of CPU per message, requests of ~1,000 about 12 µs.
 */
import type { Message, TopicMessages } from 'kafkajs';

const REQUEST_MESSAGES = 1000;
/** UTF-16 units of value per request. */
const REQUEST_CHARS = 2 * 1024 * 1024;

export interface TopicRecord extends Message {
  topic: string;
  value: string | null;
}

/** Requests of at most 1000 records or 2 Mi chars (at least one record each); records are passed as is, uncopied. */
export function produceRequests(records: readonly TopicRecord[]): TopicMessages[][] {
  const requests: TopicMessages[][] = [];
  let start = 0;
  while (start < records.length) {
    const topics = new Map<string, TopicMessages>();
    let end = start;
    let chars = 0;
    while (end < records.length && end - start < REQUEST_MESSAGES) {
      const r = records[end] as TopicRecord;
      chars += r.value?.length ?? 0;
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
