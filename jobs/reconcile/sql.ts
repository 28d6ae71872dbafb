/**
 * Identifiers in reconcile's SQL. Values always travel as parameters (mysql2 placeholders,
 * ClickHouse {name:Type}); identifiers cannot, so each one is checked against a strict pattern
 * before it is quoted into a statement.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function assertIdentifier(name: string, what = 'identifier'): string {
  if (!IDENTIFIER.test(name)) throw new Error(`${what} ${JSON.stringify(name)} is not a plain SQL name (letters, digits, _; at most 64)`);
  return name;
}

/** `name` quoted for MySQL and ClickHouse alike (both take backticks); validated first. */
export function quoted(name: string): string {
  return `\`${assertIdentifier(name)}\``;
}
