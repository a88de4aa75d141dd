/**
 * Answers for what node:http refuses before any request handler runs: a request the parser cannot
 * read, headers over the size limit, a request not received in time, an `Expect` other than
 * 100-continue. The same RFC 6749 §5.2 shape as every other error (`error`, `error_description`),
 * written straight to the socket, then the connection is closed: after a framing error nothing
 * that follows on the connection can be trusted.
 *
 * Nothing of the request is logged: the parser's error carries the raw bytes (`rawPacket`), and
 * they hold the Authorization header and any client_secret.
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from '../errors/error-body.js';

/** What a refusal below the app is reported as (a log line, a metric). */
export interface TransportRefusal {
  readonly status: number;
  /** The parser's error code (HPE_*, ERR_HTTP_REQUEST_TIMEOUT) or `expectation`. */
  readonly code: string;
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'x-content-type-options': 'nosniff',
};

const body = (description: string) => errorBody('invalid_request', description);

function rawResponse(status: number, description: string): Buffer {
  const text = body(description);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`, ...Object.entries(JSON_HEADERS).map(([k, v]) => `${k}: ${v}`), 'connection: close'];
  return Buffer.from(`${head.join('\r\n')}\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`, 'latin1');
}

// Built once: a flood of malformed requests costs no formatting.
const MALFORMED = rawResponse(400, 'the request is malformed');
const BY_CODE: Record<string, { status: number; bytes: Buffer }> = {
  HPE_HEADER_OVERFLOW: { status: 431, bytes: rawResponse(431, 'the request headers are too large') },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, bytes: rawResponse(413, 'the request body is too large') },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, bytes: rawResponse(408, 'the request was not received in time') },
};

/** The in-flight response node:http attached to the socket (internal, stable since Node 0.x). */
type HttpSocket = Duplex & { _httpMessage?: (ServerResponse & { req?: IncomingMessage }) | null };

/**
 * The 'clientError' listener. When a complete request before the bad bytes is still being answered
 * (pipelining, or a body longer than its Content-Length), that request is answered first: an error
 * written now would stand in for its answer, and closing bare would leave a valid request without
 * one. The refusal follows its answer, then the connection is closed.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, onRefused: (r: TransportRefusal) => void): void {
  const code = typeof err.code === 'string' ? err.code : 'unknown';
  if (code === 'ECONNRESET' || code === 'EPIPE' || socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const answer = BY_CODE[code] ?? { status: 400, bytes: MALFORMED };
  // The code only, never `err`: its rawPacket is the request itself.
  onRefused({ status: answer.status, code });
  const refuse = () => {
    if (socket.destroyed || !socket.writable) return;
    socket.end(answer.bytes, () => socket.destroy());
  };
  const pending = (socket as HttpSocket)._httpMessage;
  const owed = pending != null && (pending.headersSent || pending.req?.complete === true);
  if (!owed) return refuse();
  // 'finish' runs after node's own listener has detached the response; a response that never
  // finishes (its connection lost) leaves nothing to refuse.
  pending.once('finish', refuse);
}

const EXPECTATION_FAILED = body('only "Expect: 100-continue" is supported');

/** The 'checkExpectation' listener (RFC 9110 §10.1.1: 417 for an expectation the server cannot meet). */
export function answerExpectation(res: ServerResponse, onRefused: (r: TransportRefusal) => void): void {
  res.writeHead(417, { ...JSON_HEADERS, connection: 'close', 'content-length': String(Buffer.byteLength(EXPECTATION_FAILED)) });
  res.end(EXPECTATION_FAILED);
  onRefused({ status: 417, code: 'expectation' });
}
