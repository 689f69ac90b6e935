import { OciError } from './errors.js';

/** The spec's pagination: lexically sorted, `n` items at most, starting after `last`. */
export interface Page {
  items: string[];
  /** Present when more items follow: the value for the next request's `last`. */
  nextLast?: string;
}

/** Parses `n` from a query: absent means everything; anything but a non-negative integer is refused. */
export function parsePageSize(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value)) throw new OciError(400, 'PAGINATION_NUMBER_INVALID', `invalid page size n=${value}`);
  return Number(value);
}

export function paginate(sorted: readonly string[], n: number | undefined, last: string | null): Page {
  const start = last ? firstIndexAfter(sorted, last) : 0;
  const end = n === undefined ? sorted.length : Math.min(sorted.length, start + n);
  const items = sorted.slice(start, end);
  return end < sorted.length && items.length > 0 ? { items, nextLast: items[items.length - 1]! } : { items };
}

export function compareLexically(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function firstIndexAfter(sorted: readonly string[], last: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! <= last) low = middle + 1;
    else high = middle;
  }
  return low;
}
