/** Cursor paging for admin lists: `limit` (1-500, default 100) and `cursor` (the last key of the previous page). */
import { badRequest } from './errors.js';

export interface PageQuery {
  readonly limit: number;
  readonly cursor: string | undefined;
}

export function pageQuery(query: unknown): PageQuery {
  const q = (query ?? {}) as Record<string, unknown>;
  const limitText = q.limit;
  let limit = 100;
  if (limitText !== undefined) {
    if (typeof limitText !== 'string' || !/^\d{1,3}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 500) throw badRequest('limit must be 1 to 500');
    limit = Number(limitText);
  }
  const cursor = q.cursor;
  if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length > 256)) throw badRequest('cursor is malformed');
  return { limit, cursor };
}

/** `items` must be sorted by `key`. */
export function page<T>(items: readonly T[], q: PageQuery, key: (item: T) => string): { items: T[]; next_cursor: string | null } {
  const start = q.cursor === undefined ? 0 : items.findIndex((i) => key(i) > q.cursor!);
  const from = start < 0 ? items.length : start;
  const slice = items.slice(from, from + q.limit);
  const more = from + q.limit < items.length;
  return { items: slice, next_cursor: more && slice.length ? key(slice[slice.length - 1]!) : null };
}
