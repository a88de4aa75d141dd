/** Shared node:http response writing for the Connect/Express and plain node:http adapters. */
import type { ServerResponse } from 'node:http';
import { errorBody } from './error-body.js';
import type { GuardError } from './errors.js';

function sendJson(res: ServerResponse, status: number, headers: Record<string, string>, payload: string): void {
  if (res.headersSent || res.writableEnded) {
    // Too late for a clean answer: don't leave the client with a half response that looks OK.
    res.destroy();
    return;
  }
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(payload);
}

/** Answers a GuardError: status, WWW-Authenticate, Cache-Control: no-store, JSON {error, error_description}. */
export function sendGuardError(res: ServerResponse, err: GuardError): void {
  sendJson(res, err.status, err.headers, err.serializedBody);
}

export function sendServerError(res: ServerResponse): void {
  sendJson(res, 500, { 'cache-control': 'no-store' }, errorBody('server_error', 'internal error'));
}
