/**
 * POST {base}/oauth2/introspect (RFC 7662), POST {base}/oauth2/revoke (RFC 7009) and
 * GET {base}/oauth2/revocations (the revocation feed): HTTP in, protocol core, HTTP out.
 * Errors go to the shared error boundary, so they have the RFC 6749 §5.2 shape.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { handleIntrospectionRequest, type IntrospectionEndpointDeps } from '../../protocol/introspection-endpoint.js';
import { handleRevocationFeedRequest, type RevocationFeedDeps } from '../../protocol/revocation-feed-endpoint.js';
import { handleRevocationRequest, type RevocationEndpointDeps } from '../../protocol/revocation-endpoint.js';
import type { ClientRequest } from '../../protocol/client-authentication.js';
import type { ClientCertificateSource } from '../../tls/client-certificate.js';
import type { SourceAddress } from '../source-address.js';
import { errorBody } from '../../errors/error-body.js';

export interface TokenStatusDeps {
  readonly introspection: IntrospectionEndpointDeps;
  readonly revocation: RevocationEndpointDeps;
  readonly feed: RevocationFeedDeps;
}

export interface TokenStatusRouteOptions {
  readonly basePath: string;
  readonly bodyLimit: number;
  readonly deps: TokenStatusDeps;
  /** RFC 8705: reads the client certificate (TLS connection or trusted proxy header); absent: none is read. */
  readonly certificates?: ClientCertificateSource;
  /** Where a request comes from, for the lockout; absent: not read. */
  readonly sources?: SourceAddress;
}

export const tokenStatusPaths = (basePath: string) => ({
  introspect: `${basePath}/oauth2/introspect`,
  revoke: `${basePath}/oauth2/revoke`,
  revocations: `${basePath}/oauth2/revocations`,
});

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

const sourceOf = (request: FastifyRequest, sources: SourceAddress | undefined) => {
  const sourceAddress = sources?.of(request.raw);
  return sourceAddress !== undefined ? { sourceAddress } : {};
};

const formRequest = (request: FastifyRequest, certificates: ClientCertificateSource | undefined, sources: SourceAddress | undefined): ClientRequest => ({
  contentType: request.headers['content-type'],
  authorization: request.headers.authorization,
  body: typeof request.body === 'string' ? request.body : undefined,
  clientCertificate: certificates?.fromRequest(request.raw, request.log),
  origin: request.origin,
  ...sourceOf(request, sources),
});

// RFC 7662 §2.2 and RFC 7009 §2.2 answers describe token state: never cached (RFC 6749 §5.1 headers).
const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store').header('pragma', 'no-cache');

function methodNotAllowed(app: FastifyInstance, url: string, allowed: 'GET' | 'POST'): void {
  const methods = ALL_METHODS.filter((m) => m !== allowed && !(allowed === 'GET' && m === 'HEAD'));
  app.route({
    method: [...methods],
    url,
    // Answered before the body is read or parsed: its content type must not change the answer.
    onRequest: async (request, reply) => {
      request.outcome = 'invalid_request';
      return reply
        .code(405)
        .header('allow', allowed)
        .header('cache-control', 'no-store')
        .header('connection', 'close')
        .type('application/json')
        .send(errorBody('invalid_request', `this endpoint accepts ${allowed} only`));
    },
    handler: async () => {
      throw new Error('unreachable: onRequest answers');
    },
  });
}

export async function tokenStatusRoutes(app: FastifyInstance, options: TokenStatusRouteOptions): Promise<void> {
  const paths = tokenStatusPaths(options.basePath);
  // As for the token endpoint, the protocol core decides what a valid body is: take every body raw.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_req, body, done) => done(null, body));

  app.post(paths.introspect, async (request, reply) => {
    const result = await handleIntrospectionRequest(formRequest(request, options.certificates, options.sources), options.deps.introspection);
    request.clientId = result.client.clientId;
    request.outcome = result.body.active ? 'active' : 'inactive';
    request.errorDetail = result.inactiveReason;
    return noStore(reply).type('application/json').send(JSON.stringify(result.body));
  });

  app.post(paths.revoke, async (request, reply) => {
    const result = await handleRevocationRequest(formRequest(request, options.certificates, options.sources), options.deps.revocation);
    request.clientId = result.client.clientId;
    request.outcome = result.outcome === 'revoked' ? 'revoked' : 'revoke_ignored';
    request.errorDetail = result.outcome === 'revoked' ? undefined : result.outcome;
    // RFC 7009 §2.2: "The content of the response body is ignored by the client".
    return noStore(reply).code(200).send();
  });

  app.get(paths.revocations, async (request, reply) => {
    const result = await handleRevocationFeedRequest(
      {
        authorization: request.headers.authorization,
        clientCertificate: options.certificates?.fromRequest(request.raw, request.log),
        since: (request.query as Record<string, unknown>).since,
        origin: request.origin,
        ...sourceOf(request, options.sources),
      },
      options.deps.feed,
    );
    request.clientId = result.client.clientId;
    request.outcome = 'feed';
    return noStore(reply).type('application/json').send(JSON.stringify(result.body));
  });

  methodNotAllowed(app, paths.introspect, 'POST');
  methodNotAllowed(app, paths.revoke, 'POST');
  methodNotAllowed(app, paths.revocations, 'GET');
}

/** RFC 8414 §2 metadata members for these endpoints (the issuer's URL, like token_endpoint). */
export function tokenStatusMetadata(issuer: string, authMethods: readonly string[]): Record<string, unknown> {
  return {
    introspection_endpoint: `${issuer}/oauth2/introspect`,
    introspection_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint: `${issuer}/oauth2/revoke`,
    revocation_endpoint_auth_methods_supported: authMethods,
  };
}
