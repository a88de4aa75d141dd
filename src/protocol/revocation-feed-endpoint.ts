/**
 * The revocation feed: `GET {base}/oauth2/revocations?since=<cursor>`, for resource servers that check
 * revocation locally instead of introspecting every token. Not an RFC: a d1-authz extension. The
 * cursor is opaque to callers (a decimal sequence number today).
 */
import type { Client } from '../model/client.js';
import { requireIntrospectPermission } from './caller-authentication.js';
import { authenticateHeaderClient, type ClientAuthenticationDeps } from './client-authentication.js';
import type { RequestOrigin } from '../domain/audit/request-audit.js';
import type { ClientCertificate } from '../model/client-certificate.js';
import { invalidRequest } from './oauth-error.js';

export type RevocationFeedItem =
  | { readonly type: 'token'; readonly jti: string; readonly client_id: string; readonly until: number }
  | { readonly type: 'client'; readonly client_id: string; readonly issued_before: number | null; readonly until: number }
  | { readonly type: 'key'; readonly kid: string; readonly until: number };

export interface RevocationFeedDeps extends ClientAuthenticationDeps {
  readFeed(cursor: number): Promise<{ items: readonly RevocationFeedItem[]; nextCursor: number; hasMore: boolean }>;
}

export interface RevocationFeedRequest {
  readonly authorization: string | undefined;
  readonly clientCertificate?: ClientCertificate;
  /** Where the request comes from (http/source-address.ts). */
  readonly sourceAddress?: string;
  /** The `since` query parameter as the framework parsed it (repeated → array). */
  readonly since: unknown;
  readonly origin?: RequestOrigin;
}

export interface RevocationFeedBody {
  revocations: readonly RevocationFeedItem[];
  next_cursor: string;
  has_more: boolean;
}

const CURSOR = /^\d{1,15}$/;

export function parseCursor(since: unknown): number {
  if (since === undefined || since === '') return 0;
  if (typeof since !== 'string' || !CURSOR.test(since)) throw invalidRequest('since must be a cursor returned by this endpoint');
  return Number(since);
}

export async function handleRevocationFeedRequest(request: RevocationFeedRequest, deps: RevocationFeedDeps): Promise<{ client: Client; body: RevocationFeedBody }> {
  const client = await authenticateHeaderClient(request.authorization, request.clientCertificate, deps, request.sourceAddress, request.origin);
  requireIntrospectPermission(client);
  const cursor = parseCursor(request.since);
  const page = await deps.readFeed(cursor);
  return { client, body: { revocations: page.items, next_cursor: String(page.nextCursor), has_more: page.hasMore } };
}
