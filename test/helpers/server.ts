/** Starts a real d1-authz (in this process) on a free loopback port, with its own database and captured logs. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { ClientSettings } from '../../src/domain/clients/client-service.js';
import type { ServerTimeouts } from '../../src/transport/server-timeouts.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { freePort } from './free-port.js';
import { migrateDatabase } from './migrated-store.js';
import { jsonOrUnparsable } from './json-body.js';

export const basicAuth = (id: string, secret: string) =>
  'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

export interface TokenCall {
  readonly status: number;
  readonly headers: Headers;
  readonly json: any;
}

export interface TestServer {
  readonly app: App;
  readonly origin: string;
  /** The admin and management listener (health, metrics, admin API, console); undefined with adminPort 0. */
  readonly adminOrigin: string | undefined;
  readonly issuer: string;
  readonly tokenUrl: string;
  readonly jwksUrl: string;
  readonly database: TestDatabase;
  readonly masterKey: string;
  /** Every log line written so far, raw. */
  readonly logs: string[];
  createClient(clientId: string, settings?: ClientSettings, secret?: { secret?: string; force?: boolean }): Promise<{ clientId: string; clientSecret: string }>;
  token(clientId: string, secret: string, form?: Record<string, string>, headers?: Record<string, string>): Promise<TokenCall>;
  post(body: string | undefined, headers: Record<string, string>): Promise<TokenCall>;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly database?: TestDatabase;
  readonly masterKey?: string;
  readonly port?: number;
  /** The server's time-outs (default: the documented SERVER_TIMEOUTS). */
  readonly timeouts?: ServerTimeouts;
}

export async function startTestServer(settings: Partial<ConfigInput> = {}, options: StartOptions = {}): Promise<TestServer> {
  const database = options.database ?? (await createTestDatabase());
  const masterKey = options.masterKey ?? randomBytes(32).toString('base64');
  const port = options.port ?? (await freePort());
  // Every test server has its admin listener on, as the product does, on a port of its own.
  const adminPort = settings.adminPort ?? (await freePort());
  const config = loadConfig({ databaseUrl: database.url, port, adminPort, masterKey, syncIntervalMs: 100, logLevel: 'info', ...settings }, {});
  if (!config.databaseUrl.startsWith('sqlite:')) {
    await migrateDatabase(config.databaseUrl);
  }
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  const app = await createApp(config, { logStream, ...(options.timeouts ? { timeouts: options.timeouts } : {}) });
  const origin = await app.listen();
  const tokenUrl = `${origin}${config.basePath}/oauth2/token`;

  const post = async (body: string | undefined, headers: Record<string, string>): Promise<TokenCall> => {
    const res = await fetch(tokenUrl, { method: 'POST', headers, body });
    const text = await res.text();
    const json = jsonOrUnparsable(text);
    return { status: res.status, headers: res.headers, json };
  };

  let closed = false;
  return {
    app,
    origin,
    adminOrigin: app.adminOrigin(),
    issuer: config.issuer,
    tokenUrl,
    jwksUrl: `${origin}${config.basePath}/.well-known/jwks.json`,
    database,
    masterKey,
    logs,
    async createClient(clientId, clientSettings = {}, secret = {}) {
      const { clientSecret } = await app.clients.create(clientId, clientSettings, secret);
      return { clientId, clientSecret };
    },
    token: (clientId, secret, form = { grant_type: 'client_credentials' }, headers = {}) =>
      post(new URLSearchParams(form).toString(), {
        authorization: basicAuth(clientId, secret),
        'content-type': 'application/x-www-form-urlencoded',
        ...headers,
      }),
    post,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      if (!options.database) await database.drop();
    },
  };
}

/** A test server with one client (its secret generated) and that client's Basic header: where raw-socket tests start. */
export async function startServerWithClient(
  settings: Partial<ConfigInput> = {},
  options: StartOptions = {},
  clientId = 'd1',
): Promise<{ server: TestServer; auth: string }> {
  const server = await startTestServer(settings, options);
  const client = await server.createClient(clientId);
  return { server, auth: basicAuth(client.clientId, client.clientSecret) };
}
