// Rows are rendered as plain objects and JSON.stringify'd: a null-prototype
// object is a dictionary-mode object, which JSON.stringify walks about twice
// as slowly. On a plain object only "__proto__" needs care, and payloads are
// read by own property so that a field named e.g. "constructor" never finds
// Object.prototype's.

/** Sets `key` on a plain row object as an own property, "__proto__" included (assignment would not create it). */
export function setRowField(row: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(row, key, { value, enumerable: true, writable: true, configurable: true });
  else row[key] = value;
}

/** A payload's own field, or null when absent. */
export function ownField(payload: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(payload, key) ? payload[key] : null;
}
