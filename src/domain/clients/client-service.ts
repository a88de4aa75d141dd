/** Client administration (CLI today, an admin API later): validation lives here, not in the callers. */
import { isValidScopeString } from '../../model/scope.js';
import type { ClientPatch, ClientRepository } from '../../store/client-repository.js';
import { CLIENT_ID_PATTERN, EXPIRES_IN_FORMATS, GRANT_TYPES, type Client, type ClientSecret, type ExpiresInFormat } from '../../model/client.js';
import { generateSecret, hashSecret } from './secret-hash.js';
import { secretForm } from './secret-form.js';
import { checkClientTls, ClientTlsSettingError, tlsPatch, type ClientTlsSettings } from './client-tls.js';
import { clientChange, type AdminAuditLog } from '../audit/admin-audit.js';
import { D1AuthzError, type ErrorCode } from '../../errors/d1authz-error.js';

/** Its message is public: the admin API sends it as the error_description, the CLI prints it. */
export class ClientAdminError extends D1AuthzError {
  override readonly name: string = 'ClientAdminError';
  constructor(message: string, errorCode: ErrorCode = 'ERR_CLIENT_ADMIN') {
    super(errorCode, message);
  }
}

export class ClientNotFoundError extends ClientAdminError {
  override readonly name = 'ClientNotFoundError';
  constructor(message: string) {
    super(message, 'ERR_CLIENT_NOT_FOUND');
  }
}

export class ClientExistsError extends ClientAdminError {
  override readonly name = 'ClientExistsError';
  constructor(message: string) {
    super(message, 'ERR_CLIENT_EXISTS');
  }
}

/** The record changed since the version the caller read (an admin API If-Match that no longer holds). */
export class ClientChangedError extends ClientAdminError {
  override readonly name = 'ClientChangedError';
  constructor(message: string) {
    super(message, 'ERR_CLIENT_CHANGED');
  }
}

/** Imported secrets shorter than this are refused unless forced (D1 onboarding sometimes dictates one). */
export const MIN_IMPORTED_SECRET_LENGTH = 32;
const MAX_SECRET_LENGTH = 512;

export interface ClientSettings {
  readonly name?: string;
  readonly scopes?: readonly string[];
  readonly defaultScopes?: readonly string[];
  readonly audience?: string | null;
  readonly ttl?: number | null;
  /** false makes a client that cannot obtain tokens. */
  readonly tokens?: boolean;
  /** RFC 8705: auth method, expected client certificate, certificate-bound tokens. */
  readonly tls?: ClientTlsSettings;
  /** true lets the client introspect tokens and read the revocation feed (a resource server). */
  readonly introspect?: boolean;
  /** Token response shape; null resets to the server's setting. */
  readonly expiresInFormat?: ExpiresInFormat | null;
  readonly expiresAt?: boolean | null;
}

export interface SecretInput {
  readonly secret?: string;
  readonly force?: boolean;
}

export interface ClientView extends Client {
  readonly secrets: readonly { readonly createdAt: string; readonly expiresAt: string | null }[];
}

export interface ClientServicePolicy {
  readonly scryptCost: number;
  readonly maxTokenTtl: number;
  /** Seconds; a client-wide revocation is kept this much longer than the longest token. */
  readonly clockSkew?: number;
}

function checkSecret(input: SecretInput): string {
  if (input.secret === undefined) return generateSecret();
  const s = input.secret;
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (s.length === 0 || s.length > MAX_SECRET_LENGTH || /[\x00-\x1f\x7f]/.test(s)) {
    throw new ClientAdminError('the secret must be 1 to 512 printable characters');
  }
  // Secrets are compared form-decoded (secret-form.ts): "%0A" would decode to a control character, which
  // authentication refuses. So no stored secret holds a control character, and none ends in NUL.
  if (!secretForm(s)) throw new ClientAdminError('the secret must not hold a percent-encoded control character (%00 to %1F, %7F)');
  if (s.length < MIN_IMPORTED_SECRET_LENGTH && !input.force) {
    throw new ClientAdminError(`the secret is shorter than ${MIN_IMPORTED_SECRET_LENGTH} characters; use --force to import it anyway`);
  }
  return s;
}

function checkScopes(label: string, scopes: readonly string[]): string[] {
  const unique = [...new Set(scopes)];
  for (const s of unique) if (!isValidScopeString(s) || s.includes(' ')) throw new ClientAdminError(`${label}: "${s}" is not a valid scope token`);
  return unique;
}

/** `seq`: the change row written with the change (domain/sync/change-feed.ts reads it later). */
export type ChangeListener = (clientId: string, seq: number) => void;

export class ClientService {
  private listeners: ChangeListener[] = [];

  constructor(
    private readonly repo: ClientRepository,
    private readonly policy: ClientServicePolicy,
    private readonly now: () => number = Date.now,
    /** Every change is audited in its own transaction (who, and the record before and after). */
    private readonly audit?: AdminAuditLog,
  ) {}

  /** The same service, its changes audited as `actor` (an admin API token): one per request, sharing the change listeners. */
  actingAs(actor: string): ClientService {
    const service = new ClientService(this.repo, this.policy, this.now, this.audit && { ...this.audit, actor, logged: this.audit.logged });
    service.listeners = this.listeners;
    return service;
  }

  /** Called after each committed change to a client made through this service: the process that made it knows it at once. */
  onChange(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  private changed(clientId: string, seq: number): void {
    for (const listener of this.listeners) listener(clientId, seq);
  }

  async create(clientId: string, settings: ClientSettings, secretInput: SecretInput = {}): Promise<{ client: Client; clientSecret: string }> {
    if (!CLIENT_ID_PATTERN.test(clientId)) throw new ClientAdminError('the client id must be 1 to 128 characters of A-Z a-z 0-9 _ . ~ -');
    const secret = checkSecret(secretInput);
    const now = this.now();
    const client = this.validate({
      clientId,
      name: settings.name ?? clientId,
      allowedScopes: settings.scopes ?? [],
      defaultScopes: settings.defaultScopes ?? [],
      grantTypes: settings.tokens === false ? [] : GRANT_TYPES,
      audience: settings.audience ?? null,
      tokenTtl: settings.ttl ?? null,
      enabled: true,
      introspect: settings.introspect ?? false,
      expiresInFormat: settings.expiresInFormat ?? null,
      expiresAt: settings.expiresAt ?? null,
      createdAt: now,
      updatedAt: now,
      tokenEndpointAuthMethod: 'client_secret_basic',
      certificateBoundTokens: false,
      ...this.tlsPatch(settings.tls),
    });
    const hash = await hashSecret(secret, this.policy.scryptCost);
    const audit = clientChange(this.audit, 'client.created', clientId, now, { secret_imported: secretInput.secret !== undefined });
    const seq = await this.repo.create(client, hash, this.cutoff(now), audit?.row);
    if (seq === undefined) throw new ClientExistsError(`client ${clientId} exists already`);
    audit?.committed();
    this.changed(clientId, seq);
    return { client, clientSecret: secret };
  }

  /**
   * `expectedVersion` (a Client's updatedAt, as read by the caller) makes the update conditional: it is
   * refused with ClientChangedError when anyone changed the client since, even in a race.
   */
  async update(clientId: string, settings: ClientSettings, options: { expectedVersion?: number } = {}): Promise<Client> {
    const current = await this.get(clientId);
    const expected = options.expectedVersion;
    if (expected !== undefined && current.updatedAt !== expected) throw this.changedSince(clientId);
    const patch: ClientPatch = {
      name: settings.name,
      allowedScopes: settings.scopes,
      defaultScopes: settings.defaultScopes,
      audience: settings.audience,
      tokenTtl: settings.ttl,
      grantTypes: settings.tokens === undefined ? undefined : settings.tokens ? GRANT_TYPES : [],
      introspect: settings.introspect,
      expiresInFormat: settings.expiresInFormat,
      expiresAt: settings.expiresAt,
    };
    const defined = Object.fromEntries(Object.entries({ ...patch, ...this.tlsPatch(settings.tls) }).filter(([, v]) => v !== undefined)) as ClientPatch;
    const next = this.validate({ ...current, ...defined });
    // The version must move forward even when two changes land within one millisecond.
    const at = Math.max(this.now(), current.updatedAt + 1);
    const audit = clientChange(this.audit, 'client.updated', clientId, at);
    const seq = await this.repo.update(clientId, defined, at, audit?.row, expected);
    if (seq === undefined) throw expected === undefined ? this.notFound(clientId) : this.changedSince(clientId);
    audit?.committed();
    this.changed(clientId, seq);
    return { ...next, updatedAt: at };
  }

  /**
   * Disabling also revokes every outstanding token of the client; enabling again revokes those issued
   * before the re-enable, so a token minted before the incident never comes back to life.
   */
  async setEnabled(clientId: string, enabled: boolean): Promise<void> {
    if (enabled && (await this.repo.find(clientId))?.client.enabled === false) {
      // Tokens carry iat in whole seconds, so the cut-off revokes iat < the second of the enable. Waiting
      // for the next second to begin puts every earlier token strictly before it, and every token
      // issued after the enable at or after it: no old token survives, no new one is caught.
      // (A loop: timers run on the monotonic clock and may fire a little before the wall clock gets there.)
      const nextSecond = Math.floor(this.now() / 1000) * 1000 + 1000;
      while (this.now() < nextSecond) await new Promise((resolve) => setTimeout(resolve, nextSecond - this.now() + 1));
    }
    const now = this.now();
    const audit = clientChange(this.audit, enabled ? 'client.enabled' : 'client.disabled', clientId, now);
    const seq = await this.repo.setEnabled(clientId, enabled, now, this.cutoff(now), audit?.row);
    if (seq === undefined) throw this.notFound(clientId);
    audit?.committed();
    this.changed(clientId, seq);
  }

  async delete(clientId: string): Promise<void> {
    const now = this.now();
    const audit = clientChange(this.audit, 'client.deleted', clientId, now);
    const seq = await this.repo.delete(clientId, now, this.cutoff(now), audit?.row);
    if (seq === undefined) throw this.notFound(clientId);
    audit?.committed();
    this.changed(clientId, seq);
  }

  /** A client-wide cut-off matters while a token issued before it can be valid: the longest lifetime plus skew. */
  private cutoff(now: number) {
    return { cutoffExpiresAt: now + 1000 * (this.policy.maxTokenTtl + (this.policy.clockSkew ?? 0)) };
  }

  /** The new secret works at once; the old ones keep working for `graceSeconds`. */
  async rotateSecret(clientId: string, graceSeconds: number, secretInput: SecretInput = {}): Promise<{ clientSecret: string; oldSecretsExpireAt: string }> {
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > 30 * 86_400) {
      throw new ClientAdminError('the grace period must be 0 to 2592000 seconds');
    }
    const secret = checkSecret(secretInput);
    const now = this.now();
    const expireAt = now + graceSeconds * 1000;
    // While old secrets stay live, the new one takes the salt and cost of the newest of them: one derivation
    // then checks all, so a client in its grace period costs an attacker's guess one hash like any other.
    // A raised D1AUTHZ_SCRYPT_COST reaches the client's secret at a rotation without grace (--grace 0).
    const live = graceSeconds > 0 ? (await this.repo.find(clientId))?.secrets.find((s) => s.expiresAt === null || s.expiresAt > now) : undefined;
    const hash = await hashSecret(secret, this.policy.scryptCost, live?.hash);
    const audit = clientChange(this.audit, 'client.secret_rotated', clientId, now, {
      grace_seconds: graceSeconds,
      secret_imported: secretInput.secret !== undefined,
    });
    const seq = await this.repo.addSecret(clientId, hash, expireAt, now, audit?.row);
    if (seq === undefined) throw this.notFound(clientId);
    audit?.committed();
    this.changed(clientId, seq);
    return { clientSecret: secret, oldSecretsExpireAt: new Date(expireAt).toISOString() };
  }

  async list(): Promise<Client[]> {
    return this.repo.list();
  }

  async show(clientId: string): Promise<ClientView> {
    const record = await this.repo.find(clientId);
    if (!record) throw this.notFound(clientId);
    const iso = (s: ClientSecret) => ({ createdAt: new Date(s.createdAt).toISOString(), expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString() });
    return { ...record.client, secrets: record.secrets.map(iso) };
  }

  private async get(clientId: string): Promise<Client> {
    const record = await this.repo.find(clientId);
    if (!record) throw this.notFound(clientId);
    return record.client;
  }

  private tlsPatch(settings: ClientTlsSettings | undefined) {
    try {
      return tlsPatch(settings);
    } catch (err) {
      throw err instanceof ClientTlsSettingError ? new ClientAdminError(err.message) : err;
    }
  }

  private validate(client: Client): Client {
    try {
      checkClientTls(client);
    } catch (err) {
      throw err instanceof ClientTlsSettingError ? new ClientAdminError(err.message) : err;
    }
    const allowedScopes = checkScopes('scopes', client.allowedScopes);
    const defaultScopes = checkScopes('default scopes', client.defaultScopes);
    const outside = defaultScopes.filter((s) => !allowedScopes.includes(s));
    if (outside.length) throw new ClientAdminError(`default scopes must be among the allowed scopes: ${outside.join(' ')}`);
    if (client.tokenTtl !== null && (!Number.isInteger(client.tokenTtl) || client.tokenTtl < 1 || client.tokenTtl > this.policy.maxTokenTtl)) {
      throw new ClientAdminError(`the ttl must be 1 to ${this.policy.maxTokenTtl} seconds`);
    }
    if (client.audience !== null && (client.audience.length === 0 || client.audience.length > 512)) {
      throw new ClientAdminError('the audience must be 1 to 512 characters');
    }
    if (client.expiresInFormat != null && !EXPIRES_IN_FORMATS.includes(client.expiresInFormat)) {
      throw new ClientAdminError(`the expires_in format must be one of ${EXPIRES_IN_FORMATS.join(', ')}`);
    }
    if (client.name.length > 256) throw new ClientAdminError('the name must be at most 256 characters');
    return { ...client, allowedScopes, defaultScopes };
  }

  private notFound(clientId: string): ClientAdminError {
    return new ClientNotFoundError(`no client ${clientId}`);
  }

  private changedSince(clientId: string): ClientAdminError {
    return new ClientChangedError(`client ${clientId} was changed since it was read; read it again`);
  }
}
