/**
 * The gateway's route table: which method and path need which scopes. First match wins, like a
 * firewall; a request no rule matches is refused (least privilege) unless `unlisted` says otherwise.
 *
 * Path patterns, segment by segment:
 *   /consumers          exactly that path
 *   /consumers/*        one segment (also written /consumers/:id)
 *   /consumers/**       the prefix itself and anything below it (only as the last segment)
 * Matching is on percent-decoded segments (what the upstream will see), case-sensitive. A path the
 * upstream could read differently from us is refused before matching: dot segments, empty segments,
 * encoded "/" or "\", invalid percent-encoding.
 */

export interface RouteRule {
  /** Upper-case methods; undefined: any method. GET also admits HEAD. */
  readonly methods: ReadonlySet<string> | undefined;
  readonly path: string;
  readonly scopes: readonly string[];
  readonly match: (segments: readonly string[]) => boolean;
}

export type PathCheck = { readonly ok: true; readonly segments: string[] } | { readonly ok: false; readonly reason: string };

export function compilePattern(pattern: string): (segments: readonly string[]) => boolean {
  if (!pattern.startsWith('/')) throw new Error(`path ${JSON.stringify(pattern)} must start with /`);
  const parts = pattern === '/' ? [] : pattern.slice(1).split('/');
  parts.forEach((p, i) => {
    if (p === '') throw new Error(`path ${JSON.stringify(pattern)} has an empty segment`);
    if (p === '**' && i !== parts.length - 1) throw new Error(`path ${JSON.stringify(pattern)}: ** must be the last segment`);
    if (p !== '**' && p !== '*' && !p.startsWith(':') && /[*]/.test(p)) throw new Error(`path ${JSON.stringify(pattern)}: * must be a whole segment`);
  });
  const prefix = parts[parts.length - 1] === '**';
  const fixed = prefix ? parts.slice(0, -1) : parts;
  return (segments) => {
    if (prefix ? segments.length < fixed.length : segments.length !== fixed.length) return false;
    for (let i = 0; i < fixed.length; i++) {
      const p = fixed[i]!;
      if (p === '*' || p.startsWith(':')) continue;
      if (p !== segments[i]) return false;
    }
    return true;
  };
}

/** The request path (no query) as decoded segments, or why it is refused. */
export function pathSegments(url: string): PathCheck {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.startsWith('/')) return { ok: false, reason: 'the path must start with /' };
  if (path === '/') return { ok: true, segments: [] };
  const raw = path.slice(1).split('/');
  const segments: string[] = [];
  for (const [i, s] of raw.entries()) {
    // A trailing slash is allowed (/consumers/ is /consumers); any other empty segment is not.
    if (s === '') {
      if (i === raw.length - 1) break;
      return { ok: false, reason: 'empty path segment' };
    }
    if (/%2f|%5c/i.test(s) || s.includes('\\')) return { ok: false, reason: 'encoded slash or backslash in the path' };
    let decoded: string;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      return { ok: false, reason: 'invalid percent-encoding in the path' };
    }
    if (decoded === '.' || decoded === '..') return { ok: false, reason: 'dot segment in the path' };
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
    if (/[\x00-\x1f\x7f]/.test(decoded)) return { ok: false, reason: 'control character in the path' };
    segments.push(decoded);
  }
  return { ok: true, segments };
}

export function findRoute(rules: readonly RouteRule[], method: string, segments: readonly string[]): RouteRule | undefined {
  for (const rule of rules) {
    if (rule.methods && !rule.methods.has(method) && !(method === 'HEAD' && rule.methods.has('GET'))) continue;
    if (rule.match(segments)) return rule;
  }
  return undefined;
}
