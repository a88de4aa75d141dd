/** POST {base}/oauth2/token: HTTP in, protocol core, HTTP out. */
import type { FastifyInstance } from 'fastify';
import { handleTokenRequest, type TokenEndpointDeps } from '../../protocol/token-endpoint.js';
import type { ClientCertificateSource } from '../../tls/client-certificate.js';

export interface TokenRouteOptions {
  readonly path: string;
  readonly bodyLimit: number;
  readonly deps: TokenEndpointDeps;
  /** RFC 8705: reads the client certificate (TLS connection or trusted proxy header); absent: none is read. */
  readonly certificates?: ClientCertificateSource;
}

const OTHER_METHODS = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

export async function tokenRoute(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  // The protocol core decides what a valid body is (content type, charset, syntax), so take every body raw.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.bodyLimit }, (_req, body, done) => done(null, body));

  app.post(options.path, async (request, reply) => {
    const result = await handleTokenRequest(
      {
        contentType: request.headers['content-type'],
        authorization: request.headers.authorization,
        body: typeof request.body === 'string' ? request.body : undefined,
        clientCertificate: options.certificates?.fromRequest(request.raw, request.log),
      },
      options.deps,
    );
    request.clientId = result.client.clientId;
    request.outcome = 'issued';
    // RFC 6749 §5.1: "Cache-Control: no-store" and "Pragma: no-cache".
    return reply
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .type('application/json')
      .send(JSON.stringify(result.body));
  });

  app.route({
    method: [...OTHER_METHODS],
    url: options.path,
    handler: async (request, reply) => {
      request.outcome = 'invalid_request';
      return reply
        .code(405)
        .header('allow', 'POST')
        .type('application/json')
        .send('{"error":"invalid_request","error_description":"the token endpoint accepts POST only"}');
    },
  });
}
