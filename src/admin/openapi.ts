/**
 * OpenAPI 3.1 description of the admin API, served at /admin/v1/openapi.json. The tests validate
 * real responses against these schemas (ajv), so the document cannot drift from the code.
 */
import type { Config } from '../config/schema.js';
import { LOG_LEVELS } from '../cluster/log-level.js';

const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const time = { type: 'string', format: 'date-time' } as const;
const ntime = { type: ['string', 'null'], format: 'date-time' } as const;
const strings = { type: 'array', items: str } as const;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const errorResponse = (description: string) => ({ description, ...json(ref('Error')) });

const clientProps = {
  client_id: str,
  name: str,
  enabled: { type: 'boolean' },
  scopes: strings,
  default_scopes: strings,
  grant_types: strings,
  token_ttl: { type: ['integer', 'null'] },
  audience: nstr,
  introspect: { type: 'boolean' },
  expires_in_format: { type: ['string', 'null'], enum: ['string', 'number', null], description: "the token response's expires_in type; null: the server's D1AUTHZ_EXPIRES_IN_FORMAT" },
  expires_at: { type: ['boolean', 'null'], description: "whether token responses carry expires_at; null: the server's D1AUTHZ_EXPIRES_AT" },
  token_endpoint_auth_method: { type: 'string', enum: ['client_secret_basic', 'tls_client_auth'] },
  tls_client_auth_subject_dn: nstr,
  tls_client_auth_san_dns: nstr,
  tls_client_auth_san_uri: nstr,
  tls_client_auth_san_email: nstr,
  tls_client_certificate_thumbprint: nstr,
  certificate_bound_tokens: { type: 'boolean' },
  created_at: time,
  updated_at: time,
  secrets: { type: 'array', items: { type: 'object', required: ['created_at', 'expires_at'], additionalProperties: false, properties: { created_at: time, expires_at: ntime } } },
};
const clientRequired = Object.keys(clientProps).filter((k) => k !== 'secrets');
const settingsProps = {
  name: str,
  scopes: strings,
  default_scopes: strings,
  token_ttl: { type: ['integer', 'null'] },
  audience: nstr,
  introspect: { type: 'boolean' },
  expires_in_format: { type: ['string', 'null'], enum: ['string', 'number', null] },
  expires_at: { type: ['boolean', 'null'] },
  tokens: { type: 'boolean', description: 'false: the client cannot obtain tokens (an introspection-only resource server)' },
  token_endpoint_auth_method: { type: 'string', enum: ['client_secret_basic', 'tls_client_auth'] },
  tls_client_auth_subject_dn: nstr,
  tls_client_auth_san_dns: nstr,
  tls_client_auth_san_uri: nstr,
  tls_client_auth_san_email: nstr,
  tls_client_certificate_thumbprint: nstr,
  certificate_bound_tokens: { type: 'boolean' },
};

const authErrors = { '401': errorResponse('no, unknown or revoked admin token'), '403': errorResponse('the viewer role may only read') };
const idParam = [{ name: 'id', in: 'path', required: true, schema: str }];

export function adminOpenApi(config: Pick<Config, 'adminHost' | 'adminPort'>): object {
  return {
    openapi: '3.1.0',
    info: { title: 'd1-authz admin API', version: '1', description: 'Clients, keys and operations of one d1-authz deployment. Every change is audited with the admin token name as the actor.' },
    servers: [{ url: `/admin/v1`, description: `the admin listener (D1AUTHZ_ADMIN_HOST:D1AUTHZ_ADMIN_PORT, default 127.0.0.1:9090; here ${config.adminHost}:${config.adminPort})` }],
    security: [{ adminToken: [] }],
    components: {
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'an admin token from `d1-authz admin-token create NAME --role admin|viewer`' } },
      schemas: {
        Error: { type: 'object', required: ['error', 'error_description'], additionalProperties: false, properties: { error: str, error_description: str } },
        Client: { type: 'object', required: clientRequired, additionalProperties: false, properties: clientProps },
        ClientWithSecret: {
          type: 'object',
          required: [...clientRequired, 'client_secret'],
          additionalProperties: false,
          properties: { ...clientProps, client_secret: { type: 'string', description: 'shown once, never again' }, old_secrets_expire_at: time },
        },
        ClientPage: { type: 'object', required: ['items', 'next_cursor'], additionalProperties: false, properties: { items: { type: 'array', items: ref('Client') }, next_cursor: nstr } },
        ClientSettings: { type: 'object', additionalProperties: false, properties: settingsProps },
        ClientCreate: {
          type: 'object',
          required: ['client_id'],
          additionalProperties: false,
          properties: { client_id: { type: 'string', pattern: '^[A-Za-z0-9_.~-]{1,128}$' }, ...settingsProps, client_secret: { type: 'string', description: 'an imported secret (32+ characters unless force); generated when absent' }, force: { type: 'boolean' } },
        },
        Key: {
          type: 'object',
          required: ['kid', 'alg', 'provider', 'state', 'created_at', 'activate_at', 'retire_at'],
          additionalProperties: false,
          properties: {
            kid: str,
            alg: str,
            provider: { type: 'string', description: 'who holds the private key: local (sealed in the store) or pkcs11 (an HSM)' },
            state: { type: 'string', enum: ['pending', 'signing', 'published', 'standby', 'retired', 'revoked', 'destroyed'] },
            created_at: time,
            // A standby key has no activation time until it takes over.
            activate_at: ntime,
            retire_at: ntime,
            revoked_at: time,
            revoke_reason: str,
            destroyed_at: time,
          },
        },
        KeyList: { type: 'object', required: ['items'], additionalProperties: false, properties: { items: { type: 'array', items: ref('Key') } } },
        Identity: { type: 'object', required: ['name', 'role'], additionalProperties: false, properties: { name: str, role: { type: 'string', enum: ['admin', 'viewer'] } } },
        AuditPage: {
          type: 'object',
          required: ['items', 'next_cursor'],
          additionalProperties: false,
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['id', 'at', 'type', 'actor', 'client_id', 'address', 'correlation_id', 'details'],
                additionalProperties: false,
                properties: { id: { type: 'integer' }, at: time, type: str, actor: nstr, client_id: nstr, address: nstr, correlation_id: nstr, details: {} },
              },
            },
            next_cursor: nstr,
          },
        },
        Stats: {
          type: 'object',
          required: ['minutes', 'issued', 'failed', 'locked_out', 'failures_by_reason', 'p99_ms'],
          additionalProperties: false,
          properties: {
            minutes: { type: 'array', items: time },
            issued: { type: 'array', items: { type: 'integer' } },
            failed: { type: 'array', items: { type: 'integer' } },
            locked_out: { type: 'array', items: { type: 'integer' } },
            failures_by_reason: { type: 'object', additionalProperties: { type: 'integer' } },
            p99_ms: { type: ['number', 'null'], description: "upper bound of the latency bucket holding the 99th percentile of this process's issued tokens" },
          },
        },
        Lockouts: {
          type: 'object',
          required: ['items'],
          additionalProperties: false,
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['address', 'client_id', 'locked', 'locked_until', 'lock_seconds', 'failures_in_window', 'last_failure_at'],
                additionalProperties: false,
                properties: { address: str, client_id: nstr, locked: { type: 'boolean' }, locked_until: ntime, lock_seconds: { type: 'integer' }, failures_in_window: { type: 'integer' }, last_failure_at: time },
              },
            },
          },
        },
        LogLevel: { type: 'object', required: ['level'], additionalProperties: false, properties: { level: { type: 'string', enum: [...LOG_LEVELS] } } },
      },
    },
    paths: {
      '/whoami': { get: { summary: 'the identity of the presented admin token', responses: { '200': { description: 'the token', ...json(ref('Identity')) }, ...authErrors } } },
      '/clients': {
        get: {
          summary: 'list clients, by client_id',
          parameters: [
            { name: 'q', in: 'query', schema: str, description: 'substring of the client_id or name' },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
            { name: 'cursor', in: 'query', schema: str, description: 'next_cursor of the previous page' },
          ],
          responses: { '200': { description: 'a page of clients', ...json(ref('ClientPage')) }, '400': errorResponse('bad paging'), ...authErrors },
        },
        post: {
          summary: 'create a client; its secret is shown once',
          requestBody: { required: true, ...json(ref('ClientCreate')) },
          responses: { '201': { description: 'created', ...json(ref('ClientWithSecret')) }, '400': errorResponse('invalid settings'), '409': errorResponse('the client id is taken'), ...authErrors },
        },
      },
      '/clients/{id}': {
        parameters: idParam,
        get: { summary: 'one client with its secrets\' dates (never a secret); ETag is its version', responses: { '200': { description: 'the client', ...json(ref('Client')) }, '404': errorResponse('no such client'), ...authErrors } },
        patch: {
          summary: 'change settings; If-Match with the ETag as read is required',
          parameters: [{ name: 'If-Match', in: 'header', required: true, schema: str }],
          requestBody: { required: true, ...json(ref('ClientSettings')) },
          responses: {
            '200': { description: 'changed', ...json(ref('Client')) },
            '400': errorResponse('invalid settings'),
            '404': errorResponse('no such client'),
            '412': errorResponse('the client changed since it was read'),
            '428': errorResponse('If-Match missing'),
            ...authErrors,
          },
        },
        delete: { summary: 'delete the client and revoke its tokens', responses: { '204': { description: 'deleted' }, '404': errorResponse('no such client'), ...authErrors } },
      },
      '/clients/{id}/disable': { parameters: idParam, post: { summary: 'disable; revokes every outstanding token', responses: { '200': { description: 'disabled', ...json(ref('Client')) }, '404': errorResponse('no such client'), ...authErrors } } },
      '/clients/{id}/enable': { parameters: idParam, post: { summary: 'enable again', responses: { '200': { description: 'enabled', ...json(ref('Client')) }, '404': errorResponse('no such client'), ...authErrors } } },
      '/clients/{id}/rotate-secret': {
        parameters: idParam,
        post: {
          summary: 'a new secret, shown once; the old ones keep working for grace_seconds',
          requestBody: { required: false, ...json({ type: 'object', additionalProperties: false, properties: { grace_seconds: { type: 'integer', minimum: 0, maximum: 2592000, default: 3600 }, client_secret: str, force: { type: 'boolean' } } }) },
          responses: { '200': { description: 'rotated', ...json(ref('ClientWithSecret')) }, '400': errorResponse('invalid'), '404': errorResponse('no such client'), ...authErrors },
        },
      },
      '/keys': { get: { summary: 'signing keys and their states', responses: { '200': { description: 'keys', ...json(ref('KeyList')) }, ...authErrors } } },
      '/keys/rotate': {
        post: {
          summary: 'publish a new key now; it signs after the activation delay',
          requestBody: { required: false, ...json({ type: 'object', additionalProperties: false, properties: { alg: { type: 'string', enum: ['ES256', 'RS256', 'PS256', 'EdDSA'] }, activate_in: { type: 'integer', minimum: 0 }, force: { type: 'boolean' } } }) },
          responses: { '201': { description: 'the new key', ...json(ref('Key')) }, '400': errorResponse('activation too soon'), ...authErrors },
        },
      },
      '/audit': {
        get: {
          summary: 'the audit trail, newest first',
          parameters: [
            { name: 'client', in: 'query', schema: str },
            { name: 'event', in: 'query', schema: str, description: 'e.g. client.created, token.issued' },
            { name: 'since', in: 'query', schema: time },
            { name: 'until', in: 'query', schema: time },
            { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
            { name: 'cursor', in: 'query', schema: str, description: 'next_cursor of the previous page' },
          ],
          responses: { '200': { description: 'a page of events', ...json(ref('AuditPage')) }, '400': errorResponse('bad filter'), ...authErrors },
        },
      },
      '/stats': {
        get: {
          summary: 'tokens issued, failed authentications and lock-outs per minute (all nodes, from the audit trail), failures by reason, p99',
          parameters: [{ name: 'minutes', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1440, default: 60 } }],
          responses: { '200': { description: 'the series', ...json(ref('Stats')) }, '400': errorResponse('bad window'), ...authErrors },
        },
      },
      '/lockouts': { get: { summary: 'addresses and (client, address) pairs locked or with failures in the window', responses: { '200': { description: 'counters', ...json(ref('Lockouts')) }, ...authErrors } } },
      '/lockouts/{subject}': {
        parameters: [{ name: 'subject', in: 'path', required: true, schema: str, description: 'an address or a client id' }],
        delete: { summary: 'clear the counters (and locks) of an address or client id', responses: { '200': { description: 'cleared', ...json({ type: 'object', required: ['cleared'], properties: { cleared: { type: 'integer' } } }) }, ...authErrors } },
      },
      '/log-level': {
        get: { summary: 'the running log level', responses: { '200': { description: 'level', ...json(ref('LogLevel')) }, ...authErrors } },
        put: { summary: 'change the log level of every worker of this node', requestBody: { required: true, ...json(ref('LogLevel')) }, responses: { '200': { description: 'changed', ...json(ref('LogLevel')) }, '400': errorResponse('unknown level'), ...authErrors } },
      },
    },
  };
}
