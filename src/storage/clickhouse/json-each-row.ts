// JSONEachRow text → row objects. Shared by both adapters where a whole result
// arrives as one string.

import { Errors } from '../../platform/errors.js';

export function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line.length === 0) continue;
    try {
      rows.push(JSON.parse(line) as T);
    } catch (err) {
      throw Errors.storageFailure(`ClickHouse returned a row that is not JSON: ${line.slice(0, 200)}`, err);
    }
  }
  return rows;
}
