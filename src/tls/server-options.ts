/**
 * TLS for `serve` (and the gateway): the node:https options from the config, and a watcher that
 * swaps in renewed certificates without a restart (SIGHUP, or the files changing on disk).
 *
 * server.setSecureContext() "replaces the secure context of an existing server. Existing
 * connections to the server are not interrupted." (Node.js docs): in-flight requests finish on
 * the old context, new handshakes get the new one. New files are checked before they are used
 * (parse, key matches certificate, dates): a bad or half-written set keeps the old context.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { basename, dirname } from 'node:path';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { ConfigError, envName } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { INTERMEDIATE_CIPHERS, MIN_TLS_VERSION } from './cipher-profile.js';
import { D1AuthzError } from '../errors/d1authz-error.js';

export type TlsConfig = Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsClientCa'> & { readonly tlsCiphers?: string };

type TlsLogger = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

interface TlsMaterial {
  /** The cipher policy (cipher-profile.ts), part of every context built from this material. */
  readonly ciphers: string;
  readonly key: Buffer;
  readonly cert: Buffer;
  readonly ca: Buffer | undefined;
  readonly leaf: X509Certificate;
  /** Of all three files: an unchanged set is not reloaded. */
  readonly digest: string;
}

class TlsMaterialError extends D1AuthzError {
  override readonly name = 'TlsMaterialError';
  constructor(message: string) {
    super('ERR_TLS_MATERIAL', message);
  }
}

const setting = (key: Exclude<keyof TlsConfig, 'tlsCiphers'>) => `${envName(key)} (${key})`;

function readPem(key: 'tlsCert' | 'tlsKey' | 'tlsClientCa', path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsMaterialError(`${setting(key)}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function certificates(key: 'tlsCert' | 'tlsClientCa', pem: Buffer): X509Certificate[] {
  const blocks = pem.toString('utf8').match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError(`${setting(key)}: no PEM certificate in the file`);
  try {
    return blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    throw new TlsMaterialError(`${setting(key)}: unreadable certificate: ${(err as Error).message}`);
  }
}

function digestOf(cert: unknown, key: unknown, ca: unknown): string {
  const bytes = (v: unknown) => (Buffer.isBuffer(v) || typeof v === 'string' ? v : '');
  return createHash('sha256').update(bytes(cert)).update('\0').update(bytes(key)).update('\0').update(bytes(ca)).digest('hex');
}

function contextOptions(m: TlsMaterial): SecureContextOptions {
  // The client's order is kept among these (all strong): it knows best whether it has AES hardware.
  return { key: m.key, cert: m.cert, ...(m.ca ? { ca: m.ca } : {}), minVersion: MIN_TLS_VERSION, ciphers: m.ciphers };
}

/** Reads and checks the files; throws TlsMaterialError naming the setting at fault. */
function loadMaterial(config: TlsConfig, now = Date.now()): TlsMaterial {
  if (!config.tlsCert || !config.tlsKey) throw new TlsMaterialError('TLS is not configured');
  const cert = readPem('tlsCert', config.tlsCert);
  const key = readPem('tlsKey', config.tlsKey);
  const ca = config.tlsClientCa ? readPem('tlsClientCa', config.tlsClientCa) : undefined;
  const leaf = certificates('tlsCert', cert)[0]!;
  if (ca) certificates('tlsClientCa', ca);
  if (Date.parse(leaf.validTo) <= now) throw new TlsMaterialError(`${setting('tlsCert')}: the certificate expired on ${leaf.validTo}`);
  const material: TlsMaterial = {
    ciphers: config.tlsCiphers ?? INTERMEDIATE_CIPHERS,
    key,
    cert,
    ca,
    leaf,
    digest: digestOf(cert, key, ca),
  };
  try {
    // What the server will do with them: parses the key, checks it matches the certificate.
    createSecureContext(contextOptions(material));
  } catch (err) {
    const message = (err as Error).message;
    const which = /key values mismatch/.test(message) ? `${setting('tlsKey')} does not match ${setting('tlsCert')}` : `${setting('tlsKey')}: unusable key or certificate`;
    throw new TlsMaterialError(`${which}: ${message}`);
  }
  return material;
}

/**
 * The node:https (or Fastify `https`) options: TLS 1.2 minimum, the cipher profile; with tlsClientCa, a client
 * certificate chained to it is required and the handshake ends for any other.
 * Throws ConfigError (naming the setting) when a file is missing or bad.
 */
export function tlsServerOptions(config: TlsConfig): ServerOptions {
  let material: TlsMaterial;
  try {
    material = loadMaterial(config);
  } catch (err) {
    if (err instanceof TlsMaterialError) throw new ConfigError(`invalid TLS configuration: ${err.message}`);
    throw err;
  }
  return { ...contextOptions(material), ...(material.ca ? { requestCert: true, rejectUnauthorized: true } : {}) };
}

export interface TlsWatchOptions {
  /** Changes closer than this are applied once (a renewal writes the key and the certificate). Default 250 ms. */
  readonly debounceMs?: number;
  /** Reload on SIGHUP. Default true. */
  readonly sighup?: boolean;
  /** Watch the files (fs.watch on their folders, plus stat polling). Default true. */
  readonly watchFiles?: boolean;
  /** Stat polling interval, the safety net where fs.watch misses a change (network file systems). Default 5000 ms. */
  readonly pollIntervalMs?: number;
  /** The options the server was created with (tlsServerOptions): a change made since is picked up at once. */
  readonly served?: ServerOptions;
  /** After a new context is installed, with the digest of the files it holds (ticket-keys.ts re-keys on it). */
  readonly onReloaded?: (digest: string) => void;
}

export interface TlsWatcher {
  /** Reads the files now; true when a new context was installed, false when unchanged or bad (logged). */
  reload(reason?: string): boolean;
  close(): void;
}

/** Keeps `server`'s certificate, key and client CA in step with the files in `config`. */
export function watchTlsFiles(server: TlsServer, config: TlsConfig, logger: TlsLogger, options: TlsWatchOptions = {}): TlsWatcher {
  const debounceMs = options.debounceMs ?? 250;
  let current: string | undefined;
  if (options.served) {
    current = digestOf(options.served.cert, options.served.key, options.served.ca);
  } else {
    try {
      current = loadMaterial(config).digest;
    } catch {
      current = undefined;
    }
  }
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const reload = (reason = 'manual'): boolean => {
    if (closed) return false;
    let material: TlsMaterial;
    try {
      material = loadMaterial(config);
    } catch (err) {
      logger.error({ reason, detail: (err as Error).message }, 'TLS reload failed: still serving the previous certificate');
      return false;
    }
    if (material.digest === current) {
      if (reason === 'SIGHUP') logger.info({ reason }, 'TLS files unchanged');
      return false;
    }
    try {
      server.setSecureContext(contextOptions(material));
    } catch (err) {
      logger.error({ reason, detail: (err as Error).message }, 'TLS reload failed: still serving the previous certificate');
      return false;
    }
    current = material.digest;
    options.onReloaded?.(material.digest);
    logger.info(
      { reason, subject: material.leaf.subject.replace(/\n/g, ', '), serial: material.leaf.serialNumber, not_after: material.leaf.validTo, client_ca: material.ca !== undefined },
      'TLS certificate reloaded',
    );
    return true;
  };

  const schedule = (reason: string) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => reload(reason), debounceMs);
    timer.unref();
  };

  const files = [config.tlsCert, config.tlsKey, config.tlsClientCa].filter((f): f is string => !!f);
  const watchers: FSWatcher[] = [];
  const pollers: [string, (cur: Stats, prev: Stats) => void][] = [];
  if (options.watchFiles ?? true) {
    // Folders, not files: an atomic rename or a Kubernetes `..data` symlink swap replaces the inode a file watch holds.
    const byDir = new Map<string, Set<string>>();
    for (const f of files) byDir.set(dirname(f), (byDir.get(dirname(f)) ?? new Set()).add(basename(f)));
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, filename) => {
          const name = filename?.toString();
          if (name === undefined || names.has(name) || name.startsWith('..')) schedule('file change');
        });
        w.on('error', (err) => logger.warn({ dir, detail: err.message }, 'TLS file watch failed; polling only'));
        watchers.push(w);
      } catch (err) {
        logger.warn({ dir, detail: (err as Error).message }, 'cannot watch the TLS folder; polling only');
      }
    }
    for (const f of files) {
      const listener = (cur: Stats, prev: Stats) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) schedule('file change');
      };
      watchFile(f, { persistent: false, interval: options.pollIntervalMs ?? 5000 }, listener);
      pollers.push([f, listener]);
    }
  }
  // Files renewed between tlsServerOptions() and now (start-up takes a while): catch up.
  if (options.served && (options.watchFiles ?? true)) schedule('changed during start-up');
  const onSighup = () => reload('SIGHUP');
  if (options.sighup ?? true) process.on('SIGHUP', onSighup);

  return {
    reload,
    close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
      for (const [f, listener] of pollers) unwatchFile(f, listener);
      process.off('SIGHUP', onSighup);
    },
  };
}
