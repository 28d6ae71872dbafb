/** JSON with bigints as decimal text, so exact sums and keys survive the trip through Kafka. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}
