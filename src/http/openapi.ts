/**
 * OpenAPI 3.1 description of the public API, served at {base}/openapi.json: the token endpoint exactly
 * as the D1 contract (contract/d1-oauth2-api.openapi.json) describes it, plus what the contract leaves
 * out (its error answers) and the endpoints around it. Tests validate real responses against it.
 */
import type { Config } from '../config/schema.js';

const str = { type: 'string' } as const;
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const error = (description: string) => ({ description, ...json(ref('OAuthError')) });

export function publicOpenApi(config: Pick<Config, 'issuer' | 'basePath'>): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'd1-authz public API',
      version: '1',
      description: 'The OAuth 2.0 token endpoint that Thales D1 calls (client_credentials, HTTP Basic), and the endpoints a resource server uses around it.',
    },
    servers: [{ url: config.issuer }],
    components: {
      securitySchemes: {
        basic: { type: 'http', scheme: 'basic', description: 'client_id:client_secret, each form-urlencoded first (RFC 6749 §2.3.1)' },
        mtls: { type: 'mutualTLS', description: 'tls_client_auth (RFC 8705 §2.1)' },
      },
      schemas: {
        // The D1 contract's request and 200 answer, word for word.
        auth2Request: {
          type: 'object',
          title: 'Authorization request body',
          properties: { grant_type: { type: 'string', enum: ['client_credentials'] }, scope: { description: 'Access request scope as optionally defined by the issuer ', type: 'string' } },
          required: ['grant_type'],
        },
        TokenResponse: {
          type: 'object',
          properties: {
            access_token: { type: 'string', description: 'The access token issued by the authorization server', readOnly: true },
            expires_in: {
              type: ['string', 'integer'],
              description: 'Remaining time in seconds for the access_token to expire. A string as the D1 contract types it (the default); a number for a client or server set to the RFC 6749 form.',
              readOnly: true,
            },
            scope: { type: 'string', description: 'Scope of the access_token.', readOnly: true },
            token_type: { description: 'Type of the access_token that will be used to call Issuer APIs.', enum: ['Bearer'] },
            expires_at: { type: 'string', description: 'Access token expiration timestamp', readOnly: true },
          },
          required: ['access_token', 'token_type'],
        },
        OAuthError: {
          type: 'object',
          description: 'RFC 6749 §5.2',
          required: ['error', 'error_description'],
          additionalProperties: false,
          properties: { error: str, error_description: str },
        },
        Introspection: {
          description: 'RFC 7662 §2.2; an inactive token answers {"active": false} alone',
          oneOf: [
            { type: 'object', required: ['active'], additionalProperties: false, properties: { active: { const: false } } },
            {
              type: 'object',
              required: ['active', 'client_id', 'sub', 'exp', 'iat', 'iss', 'aud', 'jti', 'token_type'],
              additionalProperties: false,
              properties: {
                active: { const: true },
                client_id: str,
                sub: str,
                scope: str,
                exp: { type: 'integer' },
                iat: { type: 'integer' },
                iss: str,
                aud: { oneOf: [str, { type: 'array', items: str }] },
                jti: str,
                token_type: { const: 'Bearer' },
                cnf: { type: 'object' },
              },
            },
          ],
        },
        RevocationFeed: {
          type: 'object',
          required: ['revocations', 'next_cursor'],
          properties: {
            revocations: {
              type: 'array',
              items: {
                oneOf: [
                  { type: 'object', required: ['type', 'jti', 'client_id', 'until'], additionalProperties: false, properties: { type: { const: 'token' }, jti: str, client_id: str, until: { type: 'integer' } } },
                  {
                    type: 'object',
                    required: ['type', 'client_id', 'issued_before', 'until'],
                    additionalProperties: false,
                    properties: { type: { const: 'client' }, client_id: str, issued_before: { type: ['integer', 'null'] }, until: { type: 'integer' } },
                  },
                ],
              },
            },
            next_cursor: str,
            has_more: { type: 'boolean' },
          },
        },
        Jwks: {
          type: 'object',
          required: ['keys'],
          properties: { keys: { type: 'array', items: { type: 'object', required: ['kty', 'kid', 'alg', 'use'], properties: { kty: str, kid: str, alg: str, use: { const: 'sig' } } } } },
        },
        Metadata: {
          type: 'object',
          description: 'RFC 8414',
          required: ['issuer', 'token_endpoint', 'jwks_uri', 'grant_types_supported', 'token_endpoint_auth_methods_supported'],
          properties: { issuer: str, token_endpoint: str, jwks_uri: str, grant_types_supported: { type: 'array', items: str }, token_endpoint_auth_methods_supported: { type: 'array', items: str } },
        },
      },
    },
    paths: {
      '/oauth2/token': {
        post: {
          description: 'This request is used by Thales to retrieve an OAUTH 2.0 access authorization token to be used for outgoing issuer API requests.',
          security: [{ basic: [] }, { mtls: [] }],
          parameters: [{ schema: str, in: 'header', name: 'authorization', required: true, description: 'Basic base64(client_id:client_secret) (RFC 6749 §2.3.1); absent for tls_client_auth' }],
          requestBody: { content: { 'application/x-www-form-urlencoded': { schema: ref('auth2Request') } } },
          responses: {
            '200': { description: 'Default allowed response', ...json(ref('TokenResponse')) },
            '400': error('invalid_request, invalid_scope, unsupported_grant_type, unauthorized_client'),
            '401': error('invalid_client, with a WWW-Authenticate challenge'),
            '405': error('a method other than POST (Allow: POST)'),
            '413': error('the body is larger than D1AUTHZ_BODY_LIMIT'),
            '429': error('temporarily_unavailable: too many failed authentications from this address (Retry-After)'),
            '503': error('temporarily_unavailable: the store, the signing key or the hash capacity is short (Retry-After)'),
          },
        },
      },
      '/oauth2/introspect': {
        post: {
          description: 'RFC 7662 token introspection, for clients registered with introspect',
          security: [{ basic: [] }, { mtls: [] }],
          requestBody: { content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', required: ['token'], properties: { token: str, token_type_hint: str } } } } },
          responses: { '200': { description: 'the token state', ...json(ref('Introspection')) }, '400': error('malformed'), '401': error('invalid_client'), '503': error('temporarily_unavailable') },
        },
      },
      '/oauth2/revoke': {
        post: {
          description: 'RFC 7009 token revocation; the body of the answer is empty',
          security: [{ basic: [] }, { mtls: [] }],
          requestBody: { content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', required: ['token'], properties: { token: str, token_type_hint: str } } } } },
          responses: { '200': { description: 'revoked, or nothing to revoke' }, '400': error('malformed'), '401': error('invalid_client'), '503': error('temporarily_unavailable') },
        },
      },
      '/oauth2/revocations': {
        get: {
          description: 'The revocation feed for resource servers (clients registered with introspect)',
          security: [{ basic: [] }, { mtls: [] }],
          parameters: [{ name: 'since', in: 'query', schema: str, description: 'next_cursor of the previous answer' }],
          responses: { '200': { description: 'revocations after the cursor', ...json(ref('RevocationFeed')) }, '400': error('bad cursor'), '401': error('invalid_client') },
        },
      },
      '/.well-known/jwks.json': { get: { description: 'the public signing keys', responses: { '200': { description: 'JWKS (RFC 7517)', ...json(ref('Jwks')) } } } },
      '/.well-known/oauth-authorization-server': { get: { description: 'RFC 8414 metadata (also at /.well-known/oauth-authorization-server{base})', responses: { '200': { description: 'metadata', ...json(ref('Metadata')) } } } },
      '/openapi.json': { get: { description: 'this document', responses: { '200': { description: 'OpenAPI 3.1', ...json({ type: 'object' }) } } } },
    },
  };
}
