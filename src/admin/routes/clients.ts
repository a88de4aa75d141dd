/** /admin/v1/clients: the same operations as `d1-authz client ...`, through the same ClientService. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ClientService, ClientSettings } from '../../domain/clients/client-service.js';
import { clientJson } from '../../domain/clients/client-json.js';
import { AdminApiError, badRequest } from '../errors.js';
import { page, pageQuery } from '../paging.js';
import { parseBody } from '../validation.js';
import { actorOf } from '../admin-auth.js';

const nullableText = z.string().max(2048).nullable();
const settingsShape = {
  name: z.string().max(256),
  scopes: z.array(z.string().max(256)).max(256),
  default_scopes: z.array(z.string().max(256)).max(256),
  token_ttl: z.number().int().nullable(),
  audience: z.string().max(512).nullable(),
  introspect: z.boolean(),
  expires_in_format: z.enum(['string', 'number']).nullable(),
  expires_at: z.boolean().nullable(),
  /** false: a client that cannot obtain tokens (an introspection-only resource server). */
  tokens: z.boolean(),
  token_endpoint_auth_method: z.string().max(64),
  tls_client_auth_subject_dn: nullableText,
  tls_client_auth_san_dns: nullableText,
  tls_client_auth_san_uri: nullableText,
  tls_client_auth_san_email: nullableText,
  tls_client_certificate_thumbprint: nullableText,
  certificate_bound_tokens: z.boolean(),
};
const patchBody = z.object(settingsShape).partial().strict();
const createBody = patchBody.extend({
  client_id: z.string().max(128),
  /** An imported secret (D1 onboarding may dictate one); generated when absent. */
  client_secret: z.string().max(512).optional(),
  force: z.boolean().optional(),
}).strict();
const rotateBody = z.object({ grace_seconds: z.number().int().min(0).max(30 * 86_400).default(3600), client_secret: z.string().max(512).optional(), force: z.boolean().optional() }).strict();

function settingsFrom(b: z.infer<typeof patchBody>): ClientSettings {
  const tls = {
    authMethod: b.token_endpoint_auth_method,
    subjectDn: b.tls_client_auth_subject_dn,
    sanDns: b.tls_client_auth_san_dns,
    sanUri: b.tls_client_auth_san_uri,
    sanEmail: b.tls_client_auth_san_email,
    thumbprint: b.tls_client_certificate_thumbprint,
    boundTokens: b.certificate_bound_tokens,
  };
  const anyTls = Object.values(tls).some((v) => v !== undefined);
  return {
    name: b.name,
    scopes: b.scopes,
    defaultScopes: b.default_scopes,
    ttl: b.token_ttl,
    audience: b.audience,
    introspect: b.introspect,
    expiresInFormat: b.expires_in_format,
    expiresAt: b.expires_at,
    tokens: b.tokens,
    ...(anyTls ? { tls } : {}),
  };
}

/** A client's version is its updatedAt: every change (settings, secret, enable) moves it forward. */
export const etagOf = (updatedAt: number) => `"v${updatedAt}"`;

function expectedVersion(ifMatch: string | string[] | undefined): number {
  if (ifMatch === undefined) throw new AdminApiError('precondition_required', 428, 'If-Match with the ETag of the client as read is required, so two operators cannot overwrite each other');
  const m = typeof ifMatch === 'string' ? /^(?:W\/)?"v(\d{1,16})"$/.exec(ifMatch.trim()) : null;
  if (!m) throw new AdminApiError('precondition_failed', 412, 'If-Match does not name a version of this client');
  return Number(m[1]);
}

const sendClient = (reply: FastifyReply, client: Parameters<typeof clientJson>[0], status = 200) =>
  reply.code(status).header('etag', etagOf(client.updatedAt)).header('cache-control', 'no-store').send(clientJson(client));

export function clientRoutes(clients: ClientService) {
  return async (app: FastifyInstance) => {
    app.get('/clients', async (request) => {
      const q = pageQuery(request.query);
      const search = typeof (request.query as Record<string, unknown>).q === 'string' ? ((request.query as Record<string, string>).q ?? '').toLowerCase() : '';
      const all = (await clients.list()).filter((c) => !search || c.clientId.toLowerCase().includes(search) || c.name.toLowerCase().includes(search));
      return page(all.map(clientJson), q, (c) => c.client_id);
    });
    app.post('/clients', async (request, reply) => {
      const b = parseBody(createBody, request.body);
      const { client, clientSecret } = await clients.actingAs(actorOf(request)).create(b.client_id, settingsFrom(b), { secret: b.client_secret, force: b.force });
      const view = await clients.show(client.clientId);
      reply.header('location', `/admin/v1/clients/${encodeURIComponent(client.clientId)}`);
      return reply
        .code(201)
        .header('etag', etagOf(view.updatedAt))
        .header('cache-control', 'no-store')
        .send({ ...clientJson(view), client_secret: clientSecret });
    });
    app.get<{ Params: { id: string } }>('/clients/:id', async (request, reply) => sendClient(reply, await clients.show(request.params.id)));
    app.patch<{ Params: { id: string } }>('/clients/:id', async (request, reply) => {
      const expected = expectedVersion(request.headers['if-match']);
      const b = parseBody(patchBody, request.body);
      if (Object.keys(b).length === 0) throw badRequest('nothing to change');
      await clients.actingAs(actorOf(request)).update(request.params.id, settingsFrom(b), { expectedVersion: expected });
      return sendClient(reply, await clients.show(request.params.id));
    });
    for (const [action, enabled] of [['disable', false], ['enable', true]] as const) {
      app.post<{ Params: { id: string } }>(`/clients/:id/${action}`, async (request, reply) => {
        await clients.actingAs(actorOf(request)).setEnabled(request.params.id, enabled);
        return sendClient(reply, await clients.show(request.params.id));
      });
    }
    app.delete<{ Params: { id: string } }>('/clients/:id', async (request, reply) => {
      await clients.actingAs(actorOf(request)).delete(request.params.id);
      return reply.code(204).send();
    });
    app.post<{ Params: { id: string } }>('/clients/:id/rotate-secret', async (request, reply) => {
      const b = parseBody(rotateBody, request.body ?? {});
      const rotated = await clients.actingAs(actorOf(request)).rotateSecret(request.params.id, b.grace_seconds, { secret: b.client_secret, force: b.force });
      const view = await clients.show(request.params.id);
      return reply
        .header('etag', etagOf(view.updatedAt))
        .header('cache-control', 'no-store')
        .send({ ...clientJson(view), client_secret: rotated.clientSecret, old_secrets_expire_at: rotated.oldSecretsExpireAt });
    });
  };
}
